/** The REST API, reached same-origin under apiBase with the signed-in person's access token. */
import type {
  Catalogue, CatalogueReport, Channel, ColumnMapping, ImportReport, ItemPage, Job, Limits, Listing, ListingPage,
  RowError, SyncLogEntry, UploadUrl,
} from "./types";

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly details: unknown,
              readonly retryAfter: string | null) {
    super(message);
  }
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

  items(q: string): Promise<ItemPage> {
    return this.json("GET", `/items?${new URLSearchParams({ q, limit: "50" })}`);
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
