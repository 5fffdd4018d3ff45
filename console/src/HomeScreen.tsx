import { useCallback, useEffect, useMemo, useState } from "react";
import type { Api } from "./api";
import { specOf } from "./channelTypes";
import { LoadMore, messageOf, useCursorPages } from "./common";
import { when } from "./format";
import { SyncChart } from "./SyncChart";
import type { AutomationEvent, CatalogueState, ChannelDetail, ChannelSync, OrderRow, SyncHour } from "./types";

/** The hours each card's chart shows: the last 3 days. */
const CHART_HOURS = 72;

/** The automation log's kinds, as the layer records them (the filter also offers any other kind it shows). */
const KNOWN_KINDS = [
  "CATALOGUE_REPORT_REQUESTED", "CATALOGUE_REPORT_DOWNLOADED", "CATALOGUE_REPORT_FAILED", "CATALOGUE_LOADED",
  "CATALOGUE_LOAD_FAILED", "AUTO_LINK", "RAKUTEN_MAPPING_SYNC", "MAPPING_IMPORT", "LISTING_LIMITS_IMPORT",
  "ORDERS_IMPORTED", "ORDERS_FAILED", "ORDERS_THROTTLED", "ORDER_OVERSOLD", "ORDER_CANCELLED_AFTER_SHIPPING",
  "CHANNEL_AUTH_FAILED",
];

interface Health {
  channel: ChannelDetail;
  sync: ChannelSync | null;
  catalogue: CatalogueState | null;
  history: SyncHour[] | null;
}

/** Channel health at a glance: every channel's state, the order lines that need the seller, the automation log. */
export function HomeScreen({ api, onOpenOrder }: { api: Api; onOpenOrder: (orderId: string) => void }) {
  const [health, setHealth] = useState<Health[] | null>(null);
  const [warnings, setWarnings] = useState<{ oversold: OrderRow[]; unmapped: OrderRow[] } | null>(null);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async () => {
    try {
      const { channels } = await api.channelList();
      const [states, oversold, unmapped] = await Promise.all([
        Promise.all(channels.map(async (channel) => {
          const [sync, catalogue, history] = await Promise.all([
            api.channelSync(channel.channel_id).catch(() => null),
            api.catalogueState(channel.channel_id).catch(() => null),
            api.syncHistory(channel.channel_id, CHART_HOURS).then((answer) => answer.hours).catch(() => null),
          ]);
          return { channel, sync, catalogue, history };
        })),
        api.orders({ oversold: true }, null),
        api.orders({ unmapped: true, status: "open" }, null),
      ]);
      setHealth(states);
      setWarnings({ oversold: oversold.orders, unmapped: unmapped.orders });
      setError(null);
    } catch (failure) {
      setError(messageOf(failure));
    }
  }, [api]);

  useEffect(() => { void load(); }, [load]);

  const nameOf = (channelId: string) => health?.find((entry) => entry.channel.channel_id === channelId)?.channel.name ?? channelId;
  return (
    <div className="screen">
      <div className="screen-head">
        <h1>Channel health</h1>
        <button type="button" onClick={() => void load()}>Refresh</button>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {warnings && (warnings.oversold.length > 0 || warnings.unmapped.length > 0) && (
        <section aria-labelledby="warnings-title" className="pane warnings">
          <h2 id="warnings-title">Orders that need you</h2>
          <ul className="plain">
            {warnings.oversold.map((order) => (
              <li key={`o-${order.order_id}`}><span className="flag bad">oversold</span>{" "}
                <button type="button" className="link" onClick={() => onOpenOrder(order.order_id)}>
                  Order {order.channel_order_id} on {nameOf(order.channel_id)}</button>: sold more than was available.</li>
            ))}
            {warnings.unmapped.map((order) => (
              <li key={`u-${order.order_id}`}><span className="flag warn">unmapped</span>{" "}
                <button type="button" className="link" onClick={() => onOpenOrder(order.order_id)}>
                  Order {order.channel_order_id} on {nameOf(order.channel_id)}</button>: a line is not linked to an item,
                so it holds no stock. Link its SKU.</li>
            ))}
          </ul>
        </section>
      )}
      {health && (
        <div className="health-grid">
          {health.map((entry) => <ChannelCard key={entry.channel.channel_id} {...entry} />)}
        </div>
      )}
      {health && <AutomationLog api={api} channels={health.map((entry) => entry.channel)} />}
    </div>
  );
}

function ChannelCard({ channel, sync, catalogue, history }: Health) {
  const load = catalogue?.last_load;
  const report = catalogue?.report;
  const counts = load?.counts ?? null;
  return (
    <section className="pane health" aria-label={`${channel.name} health`}>
      <h2>{channel.name} <span className="muted small">{specOf(channel.type).label}</span></h2>
      <p>{channel.enabled ? <span className="flag ok">enabled</span> : <span className="flag">disabled</span>}
        {channel.auth_failure && <span className="flag bad">reconnect needed</span>}</p>
      {channel.auth_failure && (
        <p className="error small" role="note">{channel.auth_failure.operation}: {channel.auth_failure.message}. {channel.auth_failure.action}</p>
      )}
      <dl className="facts small">
        <div><dt>Last catalogue load</dt><dd>{load?.at ? `${when(load.at)}: ${load.status ?? ""}` : "none yet"}</dd></div>
        {load?.message && <div><dt>Load</dt><dd>{load.message}</dd></div>}
        {counts && typeof counts.rows === "number" && (
          <div><dt>Rows</dt><dd>{String(counts.rows)} ({String(counts.created ?? 0)} new, {String(counts.updated ?? 0)} changed, {String(counts.removed ?? 0)} removed)</dd></div>
        )}
        {report && <div><dt>Report</dt><dd>{report.status}{report.message ? `: ${report.message}` : ""}{report.requested_at ? ` (asked ${when(report.requested_at)})` : ""}</dd></div>}
        {catalogue?.totals && <div><dt>Listings</dt><dd>{catalogue.totals.active} active, {catalogue.totals.linked} linked</dd></div>}
      </dl>
      {sync && (
        <dl className="totals sync-counts">
          <div><dt>Pending</dt><dd>{sync.pending}</dd></div>
          <div><dt>Throttled</dt><dd className={sync.throttled ? "warning" : ""}>{sync.throttled}</dd></div>
          <div><dt>Sending</dt><dd>{sync.processing}</dd></div>
          <div><dt>Errors</dt><dd className={sync.errors ? "error" : ""}>{sync.errors}</dd></div>
          <div><dt>In sync</dt><dd>{sync.ok}</dd></div>
        </dl>
      )}
      {history && <SyncChart hours={history} />}
      <p className="small muted">Last scheduled run: {sync?.last_run_at ? when(sync.last_run_at) : "not yet"}</p>
    </section>
  );
}

function AutomationLog({ api, channels }: { api: Api; channels: ChannelDetail[] }) {
  const [channelId, setChannelId] = useState(channels[0]?.channel_id ?? "");
  const [kind, setKind] = useState("");
  const [seenKinds, setSeenKinds] = useState<string[]>([]);
  const fetchEvents = useMemo(() => (channelId ? (from: string | null) => api.events(channelId, kind, from)
    .then((page) => ({ rows: page.events, next_cursor: page.next_cursor })) : null), [api, channelId, kind]);
  const { rows: events, cursor, loading, error, load } = useCursorPages<AutomationEvent>(fetchEvents);
  // The filter offers every kind seen so far, also after it narrowed the log to one.
  useEffect(() => {
    setSeenKinds((current) => [...new Set([...current, ...events.map((event) => event.kind)])]);
  }, [events]);

  const kinds = [...new Set([...KNOWN_KINDS, ...seenKinds])].sort();
  return (
    <section className="pane" aria-labelledby="log-title">
      <h2 id="log-title">Automation log</h2>
      <div className="filters">
        <label>Log of channel
          <select value={channelId} onChange={(event) => setChannelId(event.target.value)}>
            {channels.map((channel) => <option key={channel.channel_id} value={channel.channel_id}>{channel.name}</option>)}
          </select>
        </label>
        <label>Kind
          <select value={kind} onChange={(event) => setKind(event.target.value)}>
            <option value="">Every kind</option>
            {kinds.map((entry) => <option key={entry} value={entry}>{entry}</option>)}
          </select>
        </label>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {!loading && events.length === 0 && <p className="muted">Nothing logged{kind ? ` of kind ${kind}` : ""}.</p>}
      {events.length > 0 && (
        <table className="table" aria-label="Automation events">
          <thead><tr><th scope="col">When</th><th scope="col">Kind</th><th scope="col">What happened</th></tr></thead>
          <tbody>
            {events.map((event, index) => (
              <tr key={`${event.at}-${index}`}><td>{when(event.at)}</td><td className="mono">{event.kind}</td><td>{event.message}</td></tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore cursor={cursor} loading={loading} onMore={() => void load(cursor)} />
    </section>
  );
}
