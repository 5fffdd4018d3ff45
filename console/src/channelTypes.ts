/** Each channel type's settings and credential fields, as the API's channels/types.py declares them:
 * the console lays the form out from this; the API is the one that validates. */
export type FieldKind = "text" | "url" | "number" | "boolean" | "list" | { choices: readonly string[] };

export interface SettingField {
  name: string;
  label: string;
  kind: FieldKind;
  hint?: string;
}

export interface ChannelTypeSpec {
  type: string;
  label: string;
  settings: SettingField[];
  /** Every credential field the type may take; the API accepts any one complete set. */
  credentials: string[];
  credentialHint?: string;
}

const WEBSITE: SettingField[] = [
  { name: "base_url", label: "Base URL", kind: "url" },
  { name: "out_of_stock_mode", label: "Out of stock", kind: { choices: ["disable", "zero_backorder"] } },
];

export const CHANNEL_TYPES: ChannelTypeSpec[] = [
  { type: "amazon", label: "Amazon", credentials: ["lwa_client_id", "lwa_client_secret", "refresh_token"], settings: [
    { name: "seller_id", label: "Seller id", kind: "text" },
    { name: "region", label: "Region", kind: { choices: ["na", "eu", "fe"] } },
    { name: "marketplace_ids", label: "Marketplace ids", kind: "list", hint: "comma-separated" },
    { name: "feed_threshold", label: "Feed threshold", kind: "number", hint: "above this many listings a run, a feed" },
    { name: "sp_api_endpoint", label: "SP-API endpoint", kind: "url", hint: "empty: the region's" },
    { name: "lwa_endpoint", label: "LWA token URL", kind: "url", hint: "empty: Amazon's" },
  ] },
  { type: "ebay", label: "eBay", credentials: ["client_id", "client_secret", "refresh_token"], settings: [
    { name: "marketplace_id", label: "Marketplace id", kind: "text" },
    { name: "sandbox", label: "Sandbox", kind: "boolean" },
    { name: "api_base_url", label: "API base URL", kind: "url", hint: "empty: eBay's" },
  ] },
  { type: "rakuten", label: "Rakuten", credentials: ["api_key"], settings: [
    { name: "base_url", label: "Base URL", kind: "url" },
    { name: "shop_id", label: "Shop id", kind: "text" },
  ] },
  { type: "pixmania", label: "Pixmania (Mirakl)", credentials: ["api_key"], settings: [
    { name: "base_url", label: "Mirakl URL", kind: "url" },
    { name: "shop_id", label: "Shop id", kind: "text" },
  ] },
  { type: "magento", label: "Magento",
    credentials: ["access_token", "consumer_key", "consumer_secret", "access_token_secret"],
    credentialHint: "An integration's access token alone, or all four OAuth 1.0a values.", settings: [
      ...WEBSITE,
      { name: "store_code", label: "Store code", kind: "text" },
      { name: "inventory_api", label: "Inventory API", kind: { choices: ["msi", "legacy"] } },
    ] },
  { type: "generic", label: "Web shop (generic)", credentials: ["api_key"], settings: WEBSITE },
];

export function specOf(type: string): ChannelTypeSpec {
  return CHANNEL_TYPES.find((spec) => spec.type === type) ?? CHANNEL_TYPES[CHANNEL_TYPES.length - 1]!;
}

export const LIMITS = [
  { name: "max_listed", label: "Max Listed", hint: "never list more" },
  { name: "end_when", label: "End When", hint: "at or below: list 0" },
  { name: "percentage", label: "Percentage", hint: "share of available" },
] as const;
