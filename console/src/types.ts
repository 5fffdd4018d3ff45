/** The API's shapes the console reads (docs/openapi.json is the reference). */
export interface Channel {
  channel_id: string;
  name: string;
  type: string;
  enabled: boolean;
  settings: Record<string, unknown>;
}

export interface LinkedItem {
  item_id: string;
  sku: string;
  title: string;
}

export interface Limits {
  max_listed: number | null;
  end_when: number | null;
  percentage: number | null;
}

export interface SyncStatus {
  update_date: string | null;
  last_update: string | null;
  submitted_quantity: number | null;
  update_status: string | null;
  error: string | null;
}

export interface Listing {
  sku: string;
  title: string;
  price: number | null;
  quantity: number | null;
  fba: boolean;
  ignore_sync: boolean;
  state: string;
  removed: boolean;
  barcode: string | null;
  asin: string | null;
  linked_item: LinkedItem | null;
  limits: Limits;
  sync: SyncStatus;
}

export interface Totals {
  active: number;
  linked: number;
  unlinked: number;
  fba: number;
  at: string | null;
}

export interface ListingPage {
  listings: Listing[];
  totals: Totals;
  next_cursor: string | null;
}

export interface ItemRow {
  item_id: string;
  sku: string;
  title: string;
  retail_price: number;
  is_composite: boolean;
}

export interface ItemPage {
  items: ItemRow[];
  next_cursor: string | null;
}

export interface Job {
  job_id: string;
  kind: string;
  status: string;
  total: number | null;
  done: number;
  bytes_total: number | null;
  bytes_done: number;
  error_count: number;
  errors: Record<string, unknown>[];
  result: Record<string, unknown>;
  message: string;
}

export interface SyncLogEntry {
  at: string;
  quantity: number;
  status: string;
  message: string;
  reason: string;
}

export interface ImportReport {
  valid: boolean;
  applied: boolean;
  rows: number;
  errors: { row: number; column?: string; field?: string; reason: string; value?: string }[];
  error_count: number;
  changes: Record<string, number>;
}

export interface ColumnMapping {
  channel_sku: string;
  item_sku?: string | null;
  ignore_sync?: string | null;
  max_listed?: string | null;
  end_when?: string | null;
  percentage?: string | null;
}

export interface CatalogueReport {
  channel_type: string;
  enabled: boolean;
  status: string;
  message: string;
  warning: string | null;
  requested_at: string | null;
  completed_at: string | null;
  next_retrieval_at: string | null;
  force_refresh_allowed_at: string | null;
  pending_request: boolean;
}

export interface Catalogue {
  last_load: { load_id: string | null; job_id: string | null; status: string | null; file: string | null;
    message: string | null; at: string | null; counts: Record<string, unknown> | null };
}

export interface UploadUrl {
  url: string;
  key: string;
  expires_in: number;
  max_bytes: number;
  method?: string;
}

export interface RowError {
  row: number;
  field: string;
  reason: string;
  value: string | null;
}

export interface ItemDetail extends ItemRow {
  components: { item_id: string; quantity: number }[];
  stock: StockLevel[];
}

export interface StockLevel {
  item_id: string;
  location_id: string;
  level: number;
  allocated: number;
  available: number;
  updated_at: string | null;
}

export interface HistoryEntry {
  change_id: string;
  location_id: string;
  kind: string;
  level_before: number;
  level_after: number;
  delta: number;
  reason: string;
  at: string;
}

export interface HistoryPage {
  entries: HistoryEntry[];
  next_cursor: string | null;
}

export interface Availability {
  item_id: string;
  sku: string;
  is_composite: boolean;
  all_locations: number;
  channels: { channel_id: string; name: string; type: string; enabled: boolean; location_ids: string[]; available: number }[];
}

export interface Location {
  location_id: string;
  name: string;
  is_default: boolean;
}

export interface OrderRow {
  order_id: string;
  channel_id: string;
  channel_type: string;
  channel_order_id: string;
  status: string;
  channel_status: string;
  placed_at: string;
  fulfilled_by_channel: boolean;
  location_id: string | null;
  currency: string | null;
  total: string | null;
  buyer_name: string;
  unmapped: boolean;
  oversold: boolean;
  oversold_at: Record<string, unknown>[];
  cancelled_after_shipping: boolean;
  announced: boolean;
}

export interface OrderLine {
  line_id: string;
  sku: string;
  title: string;
  quantity: number;
  unit_price: string | null;
  item_id: string | null;
  unmapped: boolean;
  location_id: string | null;
  parts: { item_id: string; per_unit: number }[];
  allocated: number;
  shipped: number;
}

export interface Order extends OrderRow {
  lines: OrderLine[];
}

export interface OrderPage {
  orders: OrderRow[];
  next_cursor: string | null;
}

export interface ChannelDetail extends Channel {
  location_ids: string[];
  has_credentials: boolean;
  credentials_updated_at: string | null;
  auth_failure: { failed_at: string; operation: string; message: string; action: string } | null;
}

export interface ChannelSync {
  channel_id: string;
  linked: number;
  pending: number;
  /** Of pending: the channel throttled the last submission. */
  throttled: number;
  processing: number;
  errors: number;
  ok: number;
  last_run_at: string | null;
  last_force_at: string | null;
}

export interface CatalogueState extends Catalogue {
  totals: Totals | null;
  report: CatalogueReport | null;
}

export interface AutomationEvent {
  kind: string;
  message: string;
  details: Record<string, unknown>;
  at: string;
}

export interface AutomationEventPage {
  events: AutomationEvent[];
  next_cursor: string | null;
}

export interface JobRow extends Job {
  subject: string;
  created_at: string;
  updated_at: string;
}

export interface JobPage {
  jobs: JobRow[];
  next_cursor: string | null;
}

export interface PimProfileRow {
  profile_id: string;
  name: string;
  enabled: boolean;
}

export interface PimConnection {
  url: string;
  enabled: boolean;
  has_credentials: boolean;
  pim_version: string | null;
  pim_edition: string | null;
  last_test_at: string | null;
  last_test_status: string | null;
}

export interface PimTest {
  success: boolean;
  problem: string | null;
  message: string;
  pim_version?: string | null;
  pim_edition?: string | null;
}

export interface PimOption {
  code: string;
  label: string;
  type?: string | null;
  parent?: string | null;
  locales?: string[] | null;
  currencies?: string[] | null;
  metric_family?: string | null;
}

export interface FieldMapping {
  attribute: string;
  target: string;
  channel_id: string | null;
  currency?: string;
}

export interface MetricSetting { attribute: string | null; unit: string | null }

export interface ProfileSettings {
  scope: string;
  locale: string;
  categories: string[];
  price_mappings: FieldMapping[];
  title_mappings: FieldMapping[];
  description_mappings: FieldMapping[];
  product_settings: {
    product_creation: boolean;
    upload_images: boolean;
    main_image_attribute: string | null;
    barcode_attribute: string | null;
    width: MetricSetting;
    height: MetricSetting;
    depth: MetricSetting;
    weight: MetricSetting;
  };
  extended_properties: { map_all_attributes: boolean; prefix: string };
}

export interface PimProfile extends PimProfileRow {
  settings: ProfileSettings;
  last_success_at: string | null;
}

/** One hour of a channel's stock submissions (GET /channels/{id}/sync/history). */
export interface SyncHour {
  hour: string;
  sent: number;
  errors: number;
  retrying: number;
}
