import { useCallback, useEffect, useRef, useState } from "react";
import { type Api, ApiError, type ListingQuery } from "./api";
import { ChannelActions } from "./ChannelActions";
import { count, when } from "./format";
import { JobBar, type TrackedJob, useJobTracker } from "./jobs";
import { LinkDialog } from "./LinkDialog";
import { ListingGrid, type RowEdits } from "./ListingGrid";
import { SyncLogDialog } from "./SyncLogDialog";
import { FileActions } from "./FileActions";
import type { Channel, Limits, Listing, Totals } from "./types";

const PAGE_SIZE = 100;
const SEARCH_PAUSE_MS = 300;

type LinkedFilter = "all" | "linked" | "unlinked";

interface Filters {
  linked: LinkedFilter;
  ignoreSync: boolean;
  fba: boolean;
  errors: boolean;
  throttled: boolean;
  descending: boolean;
  q: string;
}

function query(filters: Filters): ListingQuery {
  return {
    linked: filters.linked === "all" ? undefined : filters.linked === "linked",
    ignore_sync: filters.ignoreSync || undefined,
    fba: filters.fba || undefined,
    errors: filters.errors || undefined,
    throttled: filters.throttled || undefined,
    order: filters.descending ? "desc" : undefined,
    q: filters.q.trim() || undefined,
  };
}

/** One channel's listings and their links to items: the screen a seller works in. */
export function MappingScreen({ api, channel }: { api: Api; channel: Channel }) {
  const [filters, setFilters] = useState<Filters>(
    { linked: "all", ignoreSync: false, fba: false, errors: false, throttled: false, descending: false, q: "" });
  const [search, setSearch] = useState("");
  const [listings, setListings] = useState<Listing[]>([]);
  const [totals, setTotals] = useState<Totals | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  const [linking, setLinking] = useState<Listing | null>(null);
  const [logOf, setLogOf] = useState<Listing | null>(null);
  const generation = useRef(0);

  const load = useCallback(async (from: string | null) => {
    const mine = from === null ? ++generation.current : generation.current;
    setLoading(true);
    try {
      const page = await api.listings(channel.channel_id, query(filters), from, PAGE_SIZE);
      if (mine !== generation.current) return;
      setListings((current) => (from === null ? page.listings : [...current, ...page.listings]));
      setTotals(page.totals);
      setCursor(page.next_cursor);
      setError(null);
    } catch (failure) {
      if (mine === generation.current) setError((failure as Error).message);
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [api, channel.channel_id, filters]);

  useEffect(() => { void load(null); }, [load]);

  useEffect(() => {
    // Unchanged text keeps the same filters: a new object would ask for the first page again.
    const timer = window.setTimeout(() => setFilters((current) => (current.q === search ? current : { ...current, q: search })),
                                    SEARCH_PAUSE_MS);
    return () => window.clearTimeout(timer);
  }, [search]);

  // After a change to one listing: the totals again, the rows kept where the seller scrolled to.
  const refreshTotals = useCallback(() => {
    api.listings(channel.channel_id, {}, null, 1).then((page) => setTotals(page.totals), () => undefined);
  }, [api, channel.channel_id]);
  const reload = useCallback(() => { void load(null); }, [load]);
  const tracker = useJobTracker(api, (_tracked: TrackedJob) => reload());

  const replace = useCallback((updated: Listing) => {
    setListings((current) => current.map((listing) => (listing.sku === updated.sku ? updated : listing)));
  }, []);

  const attempt = useCallback(async (work: () => Promise<void>) => {
    setMessage(null);
    try {
      await work();
    } catch (failure) {
      setMessage(failure instanceof ApiError ? failure.message : (failure as Error).message);
    }
  }, []);

  // One field of one row, changed on the rows as they are now: two edits of a row in flight at once
  // (a limit saved as the checkbox beside it is ticked) each keep the other's value.
  const change = useCallback((sku: string, changed: (listing: Listing) => Listing) => {
    setListings((current) => current.map((listing) => (listing.sku === sku ? changed(listing) : listing)));
  }, []);

  // An edit shows at once, and is put back as it was when the API refuses it.
  const edits: RowEdits = {
    setIgnoreSync: (listing, value) => void attempt(async () => {
      change(listing.sku, (row) => ({ ...row, ignore_sync: value }));
      try {
        const saved = await api.patchListing(channel.channel_id, listing.sku, { ignore_sync: value });
        change(listing.sku, (row) => ({ ...row, ignore_sync: saved.ignore_sync }));
      } catch (failure) {
        change(listing.sku, (row) => ({ ...row, ignore_sync: listing.ignore_sync }));
        throw failure;
      }
    }),
    setLimit: (listing, field: keyof Limits, value) => void attempt(async () => {
      const limitOf = (row: Listing, limit: number | null) => ({ ...row, limits: { ...row.limits, [field]: limit } });
      change(listing.sku, (row) => limitOf(row, value));
      try {
        const saved = await api.patchListing(channel.channel_id, listing.sku, { [field]: value });
        change(listing.sku, (row) => limitOf(row, saved.limits[field]));
      } catch (failure) {
        change(listing.sku, (row) => limitOf(row, listing.limits[field]));
        throw failure;
      }
    }),
  };

  const current = listings.find((listing) => listing.sku === selected) ?? null;

  return (
    <div className="mapping">
      <section className="summary" aria-label="Channel summary">
        <h1>{channel.name} <span className="muted">· {channel.type}{channel.enabled ? "" : " · disabled"}</span></h1>
        <dl className="totals" aria-live="polite">
          <div><dt>Total Active</dt><dd data-testid="total-active">{totals ? count(totals.active) : "…"}</dd></div>
          <div><dt>Linked</dt><dd data-testid="total-linked">{totals ? count(totals.linked) : "…"}</dd></div>
          <div><dt>Unlinked</dt><dd data-testid="total-unlinked">{totals ? count(totals.unlinked) : "…"}</dd></div>
          {channel.type === "amazon" && <div><dt>FBA</dt><dd>{totals ? count(totals.fba) : "…"}</dd></div>}
          {totals?.at && <div><dt>Counted</dt><dd className="small">{when(totals.at)}</dd></div>}
        </dl>
      </section>

      <ChannelActions api={api} channel={channel} track={tracker.track} />
      <FileActions api={api} channel={channel} track={tracker.track} onApplied={reload} />

      {tracker.jobs.length > 0 && (
        <div className="jobs" aria-live="polite">
          {tracker.jobs.map((tracked) => (
            <JobBar key={tracked.job.job_id} api={api} tracked={tracked} onDismiss={() => tracker.dismiss(tracked.job.job_id)} />
          ))}
        </div>
      )}

      <section className="filters" aria-label="Filters">
        <label className="search">Search
          <input type="search" value={search} placeholder="Channel SKU, item SKU, part of a SKU or title"
                 onChange={(event) => setSearch(event.target.value)} />
        </label>
        <fieldset className="segmented">
          <legend className="visually-hidden">Link state</legend>
          {(["all", "linked", "unlinked"] as const).map((value) => (
            <label key={value} className={filters.linked === value ? "on" : ""}>
              <input type="radio" name="linked" value={value} checked={filters.linked === value}
                     onChange={() => setFilters((f) => ({ ...f, linked: value }))} />
              {{ all: "All", linked: "Linked", unlinked: "Unlinked" }[value]}
            </label>
          ))}
        </fieldset>
        <label><input type="checkbox" checked={filters.ignoreSync}
                      onChange={(event) => setFilters((f) => ({ ...f, ignoreSync: event.target.checked }))} /> Ignore Sync</label>
        <label><input type="checkbox" checked={filters.fba}
                      onChange={(event) => setFilters((f) => ({ ...f, fba: event.target.checked }))} /> FBA</label>
        <label><input type="checkbox" checked={filters.errors}
                      onChange={(event) => setFilters((f) => ({ ...f, errors: event.target.checked }))} /> Errors</label>
        <label><input type="checkbox" checked={filters.throttled}
                      onChange={(event) => setFilters((f) => ({ ...f, throttled: event.target.checked }))} /> Throttled</label>
        <span className="spacer" />
        <button type="button" onClick={reload} disabled={loading}>Refresh</button>
      </section>

      <section className="row-actions" aria-label="Selected listing">
        <span className="selection">{current ? <>Selected: <code>{current.sku}</code></> : "Select a listing (click, or arrow keys in the grid)"}</span>
        <button type="button" disabled={!current} onClick={() => current && setLinking(current)}>Link to item…</button>
        <button type="button" disabled={!current?.linked_item}
                onClick={() => current && void attempt(async () => {
                  replace(await api.unlink(channel.channel_id, current.sku));
                  refreshTotals();
                })}>Unlink</button>
        <button type="button" disabled={!current || Boolean(current.linked_item)}
                onClick={() => current && void attempt(async () => {
                  const created = await api.createItem(channel.channel_id, current.sku);
                  replace(created.listing);
                  setMessage(`Created item ${created.listing.linked_item?.sku ?? current.sku} and linked it.`);
                  refreshTotals();
                })}>Create New Stock Item</button>
        <button type="button" disabled={!current} onClick={() => current && setLogOf(current)}>Show Status</button>
      </section>
      {message && <p className="message" role="status">{message}</p>}
      {error && <p className="error" role="alert">{error}</p>}

      <ListingGrid listings={listings} total={listings.length} hasMore={cursor !== null} loading={loading}
                   selected={selected} onSelect={setSelected} onOpen={setLinking}
                   onNeedMore={() => { if (cursor) void load(cursor); }} edits={edits}
                   descending={filters.descending}
                   onToggleOrder={() => setFilters((f) => ({ ...f, descending: !f.descending }))} />
      <p className="muted small" aria-live="polite">
        {listings.length ? `${count(listings.length)} shown${cursor ? ", more load as you scroll" : ""}` : ""}
      </p>

      {linking && (
        <LinkDialog api={api} listing={linking} onClose={() => setLinking(null)}
                    onLink={(itemId) => attempt(async () => {
                      replace(await api.link(channel.channel_id, linking.sku, itemId));
                      setLinking(null);
                      refreshTotals();
                    })} />
      )}
      {logOf && <SyncLogDialog api={api} channelId={channel.channel_id} listing={logOf} onClose={() => setLogOf(null)} />}
    </div>
  );
}
