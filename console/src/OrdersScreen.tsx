import { useCallback, useEffect, useState } from "react";
import type { Api, OrderQuery } from "./api";
import { LoadMore, locationName, messageOf, useCursorPages, useLocations } from "./common";
import { when } from "./format";
import { LinkDialog } from "./LinkDialog";
import type { Channel, Location, Order, OrderLine, OrderRow } from "./types";

const STATUSES = ["open", "shipped", "cancelled"] as const;

function filtersInUrl(): OrderQuery {
  const search = new URLSearchParams(location.search);
  return {
    channel_id: search.get("channel_id") ?? undefined,
    status: search.get("status") ?? undefined,
    unmapped: search.get("unmapped") === "true" || undefined,
    oversold: search.get("oversold") === "true" || undefined,
    placed_from: search.get("placed_from") ?? undefined,
    placed_to: search.get("placed_to") ?? undefined,
  };
}

/** Orders of every channel, newest placed first, filtered on the server; the chosen one with its lines. */
export function OrdersScreen({ api }: { api: Api }) {
  const [filters, setFilters] = useState<OrderQuery>(filtersInUrl);
  const [channels, setChannels] = useState<Channel[]>([]);
  const [chosen, setChosen] = useState<string | null>(() => new URLSearchParams(location.search).get("order"));
  const locations = useLocations(api);

  useEffect(() => { api.channels().then((found) => setChannels(found.channels), () => setChannels([])); }, [api]);

  const fetchOrders = useCallback((from: string | null) => api.orders(filters, from)
    .then((page) => ({ rows: page.orders, next_cursor: page.next_cursor })), [api, filters]);
  const { rows: orders, cursor, loading, error, load } = useCursorPages<OrderRow>(fetchOrders);

  useEffect(() => {
    // The filters and the open order ride in the URL: a reload or a link from elsewhere shows the same.
    const url = new URL(location.href);
    for (const [name, value] of Object.entries({ ...filters, order: chosen ?? undefined })) {
      if (value === undefined || value === "" || value === false) url.searchParams.delete(name);
      else url.searchParams.set(name, String(value));
    }
    history.replaceState(null, "", url);
  }, [filters, chosen]);

  const set = (patch: Partial<OrderQuery>) => setFilters((current) => ({ ...current, ...patch }));
  const channelName = (id: string) => channels.find((channel) => channel.channel_id === id)?.name ?? id;
  return (
    <div className="screen two-pane">
      <section aria-labelledby="orders-title" className="pane">
        <h1 id="orders-title">Orders</h1>
        <form className="filters" aria-label="Order filters" onSubmit={(event) => event.preventDefault()}>
          <label>Channel
            <select value={filters.channel_id ?? ""} onChange={(event) => set({ channel_id: event.target.value || undefined })}>
              <option value="">Every channel</option>
              {channels.map((channel) => <option key={channel.channel_id} value={channel.channel_id}>{channel.name}</option>)}
            </select>
          </label>
          <label>Status
            <select value={filters.status ?? ""} onChange={(event) => set({ status: event.target.value || undefined })}>
              <option value="">Any</option>
              {STATUSES.map((status) => <option key={status} value={status}>{status}</option>)}
            </select>
          </label>
          <label><input type="checkbox" checked={filters.unmapped ?? false}
                        onChange={(event) => set({ unmapped: event.target.checked || undefined })} />Unmapped</label>
          <label><input type="checkbox" checked={filters.oversold ?? false}
                        onChange={(event) => set({ oversold: event.target.checked || undefined })} />Oversold</label>
          <label>Placed from<input type="date" value={filters.placed_from ?? ""}
                                   onChange={(event) => set({ placed_from: event.target.value || undefined })} /></label>
          <label>to<input type="date" value={filters.placed_to ?? ""}
                          onChange={(event) => set({ placed_to: event.target.value || undefined })} /></label>
          <button type="button" onClick={() => void load(null)}>Refresh</button>
        </form>
        {error && <p role="alert" className="error">{error}</p>}
        <table className="table selectable" aria-label="Orders">
          <thead><tr><th scope="col">Order</th><th scope="col">Channel</th><th scope="col">Placed</th><th scope="col">Status</th>
            <th scope="col">Buyer</th><th scope="col" className="num">Total</th><th scope="col">Flags</th></tr></thead>
          <tbody>
            {orders.map((order) => (
              <tr key={order.order_id} className={order.order_id === chosen ? "selected" : ""} aria-selected={order.order_id === chosen}>
                <td><button type="button" className="link mono" onClick={() => setChosen(order.order_id)}>{order.channel_order_id}</button></td>
                <td>{channelName(order.channel_id)}</td>
                <td>{when(order.placed_at)}</td>
                <td>{order.status}</td>
                <td>{order.buyer_name}</td>
                <td className="num">{order.total ?? ""} {order.currency ?? ""}</td>
                <td><Flags order={order} /></td>
              </tr>
            ))}
          </tbody>
        </table>
        {!loading && orders.length === 0 && <p className="empty">No order matches.</p>}
        <LoadMore cursor={cursor} loading={loading} onMore={() => void load(cursor)} />
      </section>
      {chosen && <OrderPanel key={chosen} api={api} orderId={chosen} locations={locations} channelName={channelName}
                             onChanged={() => void load(null)} />}
    </div>
  );
}

function Flags({ order }: { order: OrderRow }) {
  return (
    <span className="flags">
      {order.unmapped && <span className="flag warn">unmapped</span>}
      {order.oversold && <span className="flag bad">oversold</span>}
      {order.fulfilled_by_channel && <span className="flag">fulfilled by channel</span>}
      {order.cancelled_after_shipping && <span className="flag warn">cancelled after shipping</span>}
    </span>
  );
}

function OrderPanel({ api, orderId, locations, channelName, onChanged }:
    { api: Api; orderId: string; locations: Location[]; channelName: (id: string) => string; onChanged: () => void }) {
  const [order, setOrder] = useState<Order | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [linking, setLinking] = useState<OrderLine | null>(null);

  const reload = useCallback(() => {
    api.order(orderId).then((found) => { setOrder(found); setError(null); }, (failure: unknown) => setError(messageOf(failure)));
  }, [api, orderId]);
  useEffect(reload, [reload]);

  if (error && !order) return <section className="pane"><p role="alert" className="error">{error}</p></section>;
  if (!order) return <section className="pane"><p>Loading…</p></section>;

  async function link(line: OrderLine, itemId: string) {
    if (!order) return;
    try {
      const listing = await api.link(order.channel_id, line.sku, itemId);
      setLinking(null);
      setMessage(`Linked ${line.sku} to ${listing.linked_item?.sku ?? "the item"}: the line allocates once the link reaches it.`);
      reload();
      onChanged();
    } catch (failure) {
      setLinking(null);
      setError(messageOf(failure));
    }
  }

  return (
    <section className="pane order-panel" aria-labelledby="order-title">
      <h2 id="order-title">Order <span className="mono">{order.channel_order_id}</span> <span className="muted">· {channelName(order.channel_id)}</span></h2>
      <dl className="facts">
        <div><dt>Status</dt><dd>{order.status} <span className="muted">({order.channel_status})</span></dd></div>
        <div><dt>Placed</dt><dd>{when(order.placed_at)}</dd></div>
        <div><dt>Buyer</dt><dd>{order.buyer_name || "—"}</dd></div>
        <div><dt>Total</dt><dd>{order.total ?? "—"} {order.currency ?? ""}</dd></div>
        <div><dt>Ships from</dt><dd>{locationName(locations, order.location_id) || "the default location"}</dd></div>
        <div><dt>Flags</dt><dd><Flags order={order} />{!order.announced && <span className="flag">stock change pending</span>}</dd></div>
      </dl>
      {order.oversold && (
        <p className="warning" role="note">Oversold: an allocation took available below 0
          {order.oversold_at.length > 0 ? ` at ${order.oversold_at.map((where) => locationName(locations, String(where.location_id ?? ""))).join(", ")}` : ""}.</p>
      )}
      {error && <p role="alert" className="error">{error}</p>}
      {message && <p role="status" className="message">{message}</p>}
      <div><button type="button" onClick={reload}>Reload order</button></div>
      <table className="table" aria-label="Order lines">
        <thead><tr><th scope="col">SKU</th><th scope="col">Title</th><th scope="col" className="num">Qty</th>
          <th scope="col" className="num">Unit price</th><th scope="col">Item</th><th scope="col">Location</th>
          <th scope="col" className="num">Allocated</th><th scope="col" className="num">Shipped</th></tr></thead>
        <tbody>
          {order.lines.map((line) => (
            <tr key={line.line_id} data-sku={line.sku}>
              <td className="mono">{line.sku}</td>
              <td>{line.title}</td>
              <td className="num">{line.quantity}</td>
              <td className="num">{line.unit_price ?? ""}</td>
              <td>{line.unmapped
                ? <><span className="flag warn">unmapped</span> <button type="button" onClick={() => setLinking(line)}>Link SKU…</button></>
                : line.item_id ? <a href={`?screen=inventory&item=${line.item_id}`}>Open item</a> : "—"}</td>
              <td>{locationName(locations, line.location_id)}</td>
              <td className="num">{line.allocated}</td>
              <td className="num">{line.shipped}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {linking && <LinkDialog api={api} listing={linking} onClose={() => setLinking(null)}
                              onLink={(itemId) => link(linking, itemId)} />}
    </section>
  );
}
