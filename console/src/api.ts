/** The REST API, reached same-origin under apiBase with the signed-in person's access token. */
import type {
  PimConnection, PimOption, PimProfile, PimTest, ProfileSettings, JobPage, PimProfileRow, AutomationEventPage, CatalogueState, ChannelSync, Availability, Catalogue, CatalogueReport, Channel, ChannelDetail, ColumnMapping, HistoryPage, ImportReport, ItemDetail,
  ItemPage, Job, JobRow, Limits, Listing, ListingPage, Location, Order, OrderPage, RowError, StockLevel, SyncHour, SyncLogEntry, UploadUrl,
} from "./types";

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: unknown,
              readonly retryAfter: string | null) {
    super(message);
  }
}

export interface OrderQuery {
  channel_id?: string;
  status?: string;
  unmapped?: boolean;
  oversold?: boolean;
  placed_from?: string;
  placed_to?: string;
}

/** What a channel is written with: credentials go in, never come back. */
export interface ChannelWrite {
  name?: string;
  type?: string;
  enabled?: boolean;
  location_ids?: string[];
  settings?: Record<string, unknown>;
  credentials?: Record<string, string>;
}

/** Query parameters of the values that are set: undefined and "" are left out. */
function params(values: object): URLSearchParams {
  const found = new URLSearchParams();
  for (const [name, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== "") found.set(name, String(value));
  }
  return found;
}

export interface ListingQuery {
  linked?: boolean;
  fba?: boolean;
  ignore_sync?: boolean;
  errors?: boolean;
  throttled?: boolean;
  order?: "asc" | "desc";
  q?: string;
}

type TokenSource = () => Promise<string | null>;

/** A channel SKU as a path segment: encoded twice, so `/` and `%` survive API Gateway's own decoding. */
export function skuSegment(sku: string): string {
  return encodeURIComponent(encodeURIComponent(sku));
}

export class Api {
  constructor(private readonly base: string, private readonly token: TokenSource,
              private readonly onUnauthorized: () => void) {}

  private async send(method: string, path: string, body?: unknown, accept = "application/json"): Promise<Response> {
    const token = await this.token();
    if (!token) {
      this.onUnauthorized();
      throw new ApiError(401, "signed_out", "Your session has ended: sign in again.", null, null);
    }
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: accept };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const response = await fetch(`${this.base}${path}`, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), redirect: "follow",
    });
    if (response.status === 401) {
      this.onUnauthorized();
    }
    if (!response.ok) {
      const payload = (await response.json().catch(() => null)) as
        { error?: { code?: string; message?: string; details?: unknown } } | null;
      const error = payload?.error;
      throw new ApiError(response.status, error?.code ?? "http_error",
                         error?.message ?? `The API answered ${response.status}`, error?.details ?? null,
                         response.headers.get("Retry-After"));
    }
    return response;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const response = await this.send(method, path, body);
    return (await response.json()) as T;
  }

  channels(): Promise<{ channels: Channel[] }> {
    return this.json("GET", "/channels");
  }

  listings(channelId: string, query: ListingQuery, cursor: string | null, limit = 100): Promise<ListingPage> {
    const params = new URLSearchParams({ limit: String(limit) });
    for (const [name, value] of Object.entries(query)) {
      if (value !== undefined && value !== "") params.set(name, String(value));
    }
    if (cursor) params.set("cursor", cursor);
    return this.json("GET", `/channels/${channelId}/listings?${params}`);
  }

  items(q: string, cursor: string | null = null, limit = 50): Promise<ItemPage> {
    return this.json("GET", `/items?${params({ q, limit, cursor })}`);
  }

  itemBySku(sku: string): Promise<ItemPage> {
    return this.json("GET", `/items?${params({ sku })}`);
  }

  item(itemId: string): Promise<ItemDetail> {
    return this.json("GET", `/items/${itemId}`);
  }

  stock(itemId: string): Promise<StockLevel[]> {
    return this.json("GET", `/items/${itemId}/stock`);
  }

  stockHistory(itemId: string, cursor: string | null): Promise<HistoryPage> {
    return this.json("GET", `/items/${itemId}/stock-history?${params({ limit: 20, cursor })}`);
  }

  setStock(itemId: string, locationId: string, level: number, reason: string): Promise<StockLevel> {
    return this.json("PUT", `/items/${itemId}/stock/${locationId}`, { level, reason });
  }

  adjustStock(itemId: string, locationId: string, delta: number, reason: string, idempotencyKey: string): Promise<StockLevel> {
    return this.json("POST", `/items/${itemId}/stock/${locationId}/adjustments`,
                     { delta, reason, idempotency_key: idempotencyKey });
  }

  setComponents(itemId: string, components: { item_id: string; quantity: number }[]): Promise<ItemDetail> {
    return this.json("PUT", `/items/${itemId}/components`, { components });
  }

  available(itemId: string): Promise<Availability> {
    return this.json("GET", `/items/${itemId}/available`);
  }

  locations(): Promise<{ locations: Location[] }> {
    return this.json("GET", "/locations");
  }

  orders(query: OrderQuery, cursor: string | null): Promise<OrderPage> {
    return this.json("GET", `/orders?${params({ ...query, limit: 50, cursor })}`);
  }

  order(orderId: string): Promise<Order> {
    return this.json("GET", `/orders/${orderId}`);
  }

  channelSync(channelId: string): Promise<ChannelSync> {
    return this.json("GET", `/channels/${channelId}/sync`);
  }

  /** The channel's submissions per hour over the last `hours`, oldest first. */
  syncHistory(channelId: string, hours: number): Promise<{ hours: SyncHour[] }> {
    return this.json("GET", `/channels/${channelId}/sync/history?hours=${hours}`);
  }

  catalogueState(channelId: string): Promise<CatalogueState> {
    return this.json("GET", `/channels/${channelId}/catalogue`);
  }

  events(channelId: string, kind: string, cursor: string | null): Promise<AutomationEventPage> {
    return this.json("GET", `/channels/${channelId}/events?${params({ kind, limit: 30, cursor })}`);
  }

  channelList(): Promise<{ channels: ChannelDetail[] }> {
    return this.json("GET", "/channels");
  }

  createChannel(channel: ChannelWrite): Promise<ChannelDetail> {
    return this.json("POST", "/channels", channel);
  }

  updateChannel(channelId: string, patch: ChannelWrite): Promise<ChannelDetail> {
    return this.json("PATCH", `/channels/${channelId}`, patch);
  }

  setEnabled(channelId: string, enabled: boolean): Promise<ChannelDetail> {
    return this.json("POST", `/channels/${channelId}/${enabled ? "enable" : "disable"}`);
  }

  link(channelId: string, sku: string, itemId: string): Promise<Listing> {
    return this.json("PUT", `/channels/${channelId}/listings/${skuSegment(sku)}/link`, { item_id: itemId });
  }

  unlink(channelId: string, sku: string): Promise<Listing> {
    return this.json("DELETE", `/channels/${channelId}/listings/${skuSegment(sku)}/link`);
  }

  createItem(channelId: string, sku: string): Promise<{ listing: Listing }> {
    return this.json("POST", `/channels/${channelId}/listings/${skuSegment(sku)}/create-item`);
  }

  patchListing(channelId: string, sku: string, patch: Partial<Limits> & { ignore_sync?: boolean }): Promise<Listing> {
    return this.json("PATCH", `/channels/${channelId}/listings/${skuSegment(sku)}`, patch);
  }

  syncLog(channelId: string, sku: string): Promise<{ entries: SyncLogEntry[] }> {
    return this.json("GET", `/channels/${channelId}/listings/${skuSegment(sku)}/sync-log?limit=50`);
  }

  autoLink(channelId: string): Promise<Job> {
    return this.json("POST", `/channels/${channelId}/mapping/auto-link`);
  }

  createAll(channelId: string): Promise<Job> {
    return this.json("POST", `/channels/${channelId}/mapping/create-all`);
  }

  forceUpdate(channelId: string, confirm: boolean): Promise<Job> {
    return this.json("POST", `/channels/${channelId}/force-update`, { confirm });
  }

  jobsOf(subject: string, cursor: string | null): Promise<JobPage> {
    return this.json("GET", `/jobs?${params({ subject, limit: 20, cursor })}`);
  }

  pimProfiles(): Promise<{ profiles: PimProfileRow[] }> {
    return this.json("GET", "/pim/profiles");
  }

  pimConnection(): Promise<PimConnection> {
    return this.json("GET", "/pim/connection");
  }

  savePimConnection(connection: { url: string; client_id: string; client_secret: string; username: string;
                                  password: string; enabled: boolean }): Promise<PimConnection> {
    return this.json("PUT", "/pim/connection", connection);
  }

  testPimConnection(): Promise<PimTest> {
    return this.json("POST", "/pim/connection/test");
  }

  pimOptions(what: "channels" | "locales" | "categories" | "attributes"): Promise<{ options: PimOption[] }> {
    return this.json("GET", `/pim/${what}`);
  }

  pimProfileList(): Promise<{ profiles: PimProfile[] }> {
    return this.json("GET", "/pim/profiles");
  }

  countPimProducts(settings: ProfileSettings): Promise<{ count: number; categories: string[] }> {
    return this.json("POST", "/pim/profiles/count", settings);
  }

  savePimProfile(profileId: string | null, profile: ProfileSettings & { name: string; enabled: boolean }): Promise<PimProfile> {
    return profileId ? this.json("PUT", `/pim/profiles/${profileId}`, profile) : this.json("POST", "/pim/profiles", profile);
  }

  runPimProfile(profileId: string): Promise<Job> {
    return this.json("POST", `/pim/profiles/${profileId}/run`);
  }

  pimRuns(profileId: string): Promise<{ jobs: JobRow[] }> {
    return this.json("GET", `/pim/profiles/${profileId}/runs?limit=10`);
  }

  job(jobId: string): Promise<Job> {
    return this.json("GET", `/jobs/${jobId}`);
  }

  report(channelId: string): Promise<CatalogueReport> {
    return this.json("GET", `/channels/${channelId}/catalogue/report`);
  }

  refresh(channelId: string, confirm: boolean): Promise<CatalogueReport> {
    return this.json("POST", `/channels/${channelId}/catalogue/refresh`, { confirm });
  }

  async exportMapping(channelId: string, fields: string[]): Promise<string> {
    const response = await this.send("GET", `/channels/${channelId}/mapping/export?fields=${fields.join(",")}`,
                                     undefined, "text/csv, application/json");
    return response.text();
  }

  importMapping(channelId: string, csv: string, columns: ColumnMapping, dryRun: boolean): Promise<ImportReport | Job> {
    return this.json("POST", `/channels/${channelId}/mapping/import?dry_run=${dryRun}`, { csv, columns });
  }

  importLimits(channelId: string, csv: string, dryRun: boolean): Promise<ImportReport | Job> {
    return this.json("POST", `/channels/${channelId}/listing-limits/import?dry_run=${dryRun}`, { csv });
  }

  uploadUrl(channelId: string, filename: string): Promise<UploadUrl> {
    return this.json("POST", `/channels/${channelId}/catalogue/upload-url`, { filename });
  }

  catalogue(channelId: string): Promise<Catalogue> {
    return this.json("GET", `/channels/${channelId}/catalogue`);
  }

  catalogueErrors(channelId: string, loadId: string): Promise<{ errors: RowError[] }> {
    return this.json("GET", `/channels/${channelId}/catalogue/errors?load_id=${loadId}&limit=100`);
  }
}
