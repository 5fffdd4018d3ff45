import { type FormEvent, useCallback, useEffect, useRef, useState } from "react";
import { type Api, ApiError } from "./api";
import { LoadMore, locationName, messageOf, useCursorPages, useLocations } from "./common";
import { when } from "./format";
import type { Availability, HistoryEntry, ItemDetail, ItemRow, Location } from "./types";

const SEARCH_PAUSE_MS = 300;

/** The inventory: items found by SKU or title, paged by cursor; the chosen item's stock, kit and availability. */
export function InventoryScreen({ api }: { api: Api }) {
  const [search, setSearch] = useState(() => new URLSearchParams(location.search).get("q") ?? "");
  const [q, setQ] = useState(search);
  const [chosen, setChosen] = useState<string | null>(() => new URLSearchParams(location.search).get("item"));
  const locations = useLocations(api);
  const fetchItems = useCallback((from: string | null) => api.items(q.trim(), from)
    .then((page) => ({ rows: page.items, next_cursor: page.next_cursor })), [api, q]);
  const { rows: items, cursor, loading, error, load } = useCursorPages<ItemRow>(fetchItems);

  useEffect(() => {
    const timer = window.setTimeout(() => setQ(search), SEARCH_PAUSE_MS);
    return () => window.clearTimeout(timer);
  }, [search]);
  useEffect(() => {
    const url = new URL(location.href);
    if (chosen) url.searchParams.set("item", chosen); else url.searchParams.delete("item");
    history.replaceState(null, "", url);
  }, [chosen]);

  return (
    <div className="screen two-pane">
      <section aria-labelledby="inventory-title" className="pane">
        <h1 id="inventory-title">Inventory</h1>
        <form role="search" className="filters" onSubmit={(event) => { event.preventDefault(); setQ(search); }}>
          <label className="search">Search items
            <input type="search" value={search} onChange={(event) => setSearch(event.target.value)}
                   placeholder="SKU or words of the title" />
          </label>
        </form>
        {error && <p role="alert" className="error">{error}</p>}
        <table className="table selectable" aria-label="Items">
          <thead><tr><th scope="col">SKU</th><th scope="col">Title</th><th scope="col">Kit</th><th scope="col" className="num">Price</th></tr></thead>
          <tbody>
            {items.map((item) => (
              <tr key={item.item_id} aria-selected={item.item_id === chosen} className={item.item_id === chosen ? "selected" : ""}>
                <td><button type="button" className="link mono" onClick={() => setChosen(item.item_id)}>{item.sku}</button></td>
                <td>{item.title}</td>
                <td>{item.is_composite ? "kit" : ""}</td>
                <td className="num">{item.retail_price.toFixed(2)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {!loading && items.length === 0 && <p className="empty">No item matches.</p>}
        <LoadMore cursor={cursor} loading={loading} onMore={() => void load(cursor)} />
      </section>
      {chosen && <ItemPanel key={chosen} api={api} itemId={chosen} locations={locations} onOpen={setChosen} />}
    </div>
  );
}

function ItemPanel({ api, itemId, locations, onOpen }:
    { api: Api; itemId: string; locations: Location[]; onOpen: (itemId: string) => void }) {
  const [item, setItem] = useState<ItemDetail | null>(null);
  const [availability, setAvailability] = useState<Availability | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [historyVersion, setHistoryVersion] = useState(0);

  const reload = useCallback(async () => {
    try {
      const [found, available] = await Promise.all([api.item(itemId), api.available(itemId)]);
      setItem(found);
      setAvailability(available);
      setError(null);
    } catch (failure) {
      setError(messageOf(failure));
    }
  }, [api, itemId]);

  useEffect(() => { void reload(); }, [reload]);

  if (error) return <section className="pane"><p role="alert" className="error">{error}</p></section>;
  if (!item) return <section className="pane"><p>Loading…</p></section>;
  const changed = () => { void reload(); setHistoryVersion((version) => version + 1); };
  return (
    <section className="pane item-panel" aria-labelledby="item-title">
      <h2 id="item-title"><span className="mono">{item.sku}</span> <span className="muted">· {item.title}</span></h2>
      <StockTable item={item} locations={locations} />
      {!item.is_composite && <StockChangeForm api={api} item={item} locations={locations} onChanged={changed} />}
      {item.is_composite && <p className="muted small">A kit holds no stock of its own: it is available as far as its components are.</p>}
      <ComponentsEditor api={api} item={item} onSaved={changed} onOpen={onOpen} />
      {availability && <AvailabilityTable availability={availability} item={item} locations={locations} />}
      <StockHistory key={historyVersion} api={api} itemId={item.item_id} locations={locations} />
    </section>
  );
}

function StockTable({ item, locations }: { item: ItemDetail; locations: Location[] }) {
  const held = new Map(item.stock.map((level) => [level.location_id, level]));
  return (
    <table className="table" aria-label="Stock per location">
      <thead><tr><th scope="col">Location</th><th scope="col" className="num">Level</th>
        <th scope="col" className="num">Allocated</th><th scope="col" className="num">Available</th><th scope="col">Changed</th></tr></thead>
      <tbody>
        {locations.map((place) => {
          const level = held.get(place.location_id);
          return (
            <tr key={place.location_id} data-location={place.location_id}>
              <th scope="row">{place.name}{place.is_default ? " (default)" : ""}</th>
              <td className="num">{level?.level ?? 0}</td>
              <td className="num">{level?.allocated ?? 0}</td>
              <td className={`num${(level?.available ?? 0) < 0 ? " error" : ""}`}>{level?.available ?? 0}</td>
              <td>{when(level?.updated_at)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

type ChangeMode = "adjust" | "set";

/** Set a level or adjust it by a signed quantity, with the reason the history keeps. */
function StockChangeForm({ api, item, locations, onChanged }:
    { api: Api; item: ItemDetail; locations: Location[]; onChanged: () => void }) {
  const [mode, setMode] = useState<ChangeMode>("adjust");
  const [locationId, setLocationId] = useState("");
  const [quantity, setQuantity] = useState("");
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  // One key per adjustment a person means: a retry after a lost answer is applied once.
  const idempotencyKey = useRef(crypto.randomUUID());
  const place = locationId || (locations.find((entry) => entry.is_default) ?? locations[0])?.location_id || "";

  async function submit(event: FormEvent) {
    event.preventDefault();
    const value = Number(quantity);
    if (!Number.isInteger(value) || quantity.trim() === "") {
      setError(mode === "adjust" ? "Enter a whole number, e.g. -2 for two units out." : "Enter a whole number of units.");
      return;
    }
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      const level = mode === "adjust"
        ? await api.adjustStock(item.item_id, place, value, reason.trim(), idempotencyKey.current)
        : await api.setStock(item.item_id, place, value, reason.trim());
      idempotencyKey.current = crypto.randomUUID();
      setMessage(`${locationName(locations, place)}: level ${level.level}, available ${level.available}.`);
      setQuantity("");
      setReason("");
      onChanged();
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <form className="stock-form" onSubmit={(event) => void submit(event)} aria-label="Change stock">
      <fieldset className="segmented">
        <legend className="visually-hidden">Change</legend>
        {(["adjust", "set"] as const).map((option) => (
          <label key={option} className={mode === option ? "on" : ""}>
            <input type="radio" name="stock-mode" checked={mode === option} onChange={() => setMode(option)} />
            {option === "adjust" ? "Adjust by" : "Set level to"}
          </label>
        ))}
      </fieldset>
      <label>Location
        <select value={place} onChange={(event) => setLocationId(event.target.value)}>
          {locations.map((entry) => <option key={entry.location_id} value={entry.location_id}>{entry.name}</option>)}
        </select>
      </label>
      <label>Quantity
        <input type="number" step={1} min={mode === "set" ? 0 : undefined} value={quantity} className="narrow"
               onChange={(event) => setQuantity(event.target.value)} required />
      </label>
      <label>Reason
        <input value={reason} onChange={(event) => setReason(event.target.value)} required={mode === "adjust"}
               placeholder={mode === "adjust" ? "e.g. sold at the market" : "optional"} maxLength={500} />
      </label>
      <button type="submit" className="primary" disabled={busy || !place}>{mode === "adjust" ? "Adjust" : "Set"}</button>
      {error && <p role="alert" className="error">{error}</p>}
      {message && <p role="status" className="message">{message}</p>}
    </form>
  );
}

interface ComponentRow { item_id: string; sku: string; quantity: number }

/** A kit's components: add by SKU, change quantities, remove; the API refuses a kit that would contain itself. */
function ComponentsEditor({ api, item, onSaved, onOpen }:
    { api: Api; item: ItemDetail; onSaved: () => void; onOpen: (itemId: string) => void }) {
  const [rows, setRows] = useState<ComponentRow[] | null>(null);
  const [sku, setSku] = useState("");
  const [quantity, setQuantity] = useState("1");
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    Promise.all(item.components.map(async (component) => {
      const found = await api.item(component.item_id).catch(() => null);
      return { item_id: component.item_id, sku: found?.sku ?? component.item_id, quantity: component.quantity };
    })).then(setRows, () => setRows([]));
  }, [api, item]);

  async function add(event: FormEvent) {
    event.preventDefault();
    setError(null);
    const found = (await api.itemBySku(sku.trim()).catch(() => null))?.items[0];
    if (!found) { setError(`No item has the SKU “${sku.trim()}”.`); return; }
    const units = Math.max(1, Math.trunc(Number(quantity)) || 1);
    setRows((current) => [...(current ?? []).filter((row) => row.item_id !== found.item_id),
                          { item_id: found.item_id, sku: found.sku, quantity: units }]);
    setSku("");
    setQuantity("1");
  }

  async function save() {
    setBusy(true);
    setError(null);
    setMessage(null);
    try {
      await api.setComponents(item.item_id, (rows ?? []).map(({ item_id, quantity: units }) => ({ item_id, quantity: units })));
      setMessage(rows && rows.length ? "Components saved." : "Saved: a plain item again.");
      onSaved();
    } catch (failure) {
      const cycle = failure instanceof ApiError ? (failure.details as { cycle?: string[] } | null)?.cycle : undefined;
      const skus = cycle?.map((id) => (id === item.item_id ? item.sku : rows?.find((row) => row.item_id === id)?.sku ?? id));
      setError(`${messageOf(failure)}${skus ? ` (${skus.join(" → ")})` : ""}`);
    } finally {
      setBusy(false);
    }
  }

  if (!rows) return null;
  return (
    <section aria-labelledby="components-title" className="components">
      <h3 id="components-title">Kit components</h3>
      {rows.length === 0 && <p className="muted small">None: a plain item. Add components to make it a kit.</p>}
      {rows.length > 0 && (
        <table className="table" aria-label="Components">
          <thead><tr><th scope="col">Component</th><th scope="col" className="num">Per kit</th><th scope="col"><span className="visually-hidden">Remove</span></th></tr></thead>
          <tbody>
            {rows.map((row) => (
              <tr key={row.item_id}>
                <td><button type="button" className="link mono" onClick={() => onOpen(row.item_id)}>{row.sku}</button></td>
                <td className="num">
                  <input type="number" min={1} className="narrow" aria-label={`Quantity of ${row.sku}`} value={row.quantity}
                         onChange={(event) => setRows(rows.map((other) => other.item_id === row.item_id
                           ? { ...other, quantity: Math.max(1, Math.trunc(Number(event.target.value)) || 1) } : other))} />
                </td>
                <td><button type="button" onClick={() => setRows(rows.filter((other) => other.item_id !== row.item_id))}
                            aria-label={`Remove ${row.sku}`}>Remove</button></td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <form className="inline-form" onSubmit={(event) => void add(event)} aria-label="Add a component">
        <label>Component SKU<input value={sku} onChange={(event) => setSku(event.target.value)} required /></label>
        <label>Per kit<input type="number" min={1} className="narrow" value={quantity}
                             onChange={(event) => setQuantity(event.target.value)} /></label>
        <button type="submit">Add</button>
        <button type="button" className="primary" disabled={busy} onClick={() => void save()}>Save components</button>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {message && <p role="status" className="message">{message}</p>}
    </section>
  );
}

/** What each channel may sell, and from where: the sum of what its locations have available (a kit: what
 * its components make). A listing's own limits (Max Listed, End When, Percentage) then apply on the mapping screen. */
function AvailabilityTable({ availability, item, locations }: { availability: Availability; item: ItemDetail; locations: Location[] }) {
  const held = new Map(item.stock.map((level) => [level.location_id, level.available]));
  return (
    <section aria-labelledby="available-title">
      <h3 id="available-title">Available per channel</h3>
      <p className="small muted">Over every location: {availability.all_locations}.</p>
      <table className="table" aria-label="Available per channel">
        <thead><tr><th scope="col">Channel</th><th scope="col">Type</th><th scope="col">Sells from</th>
          <th scope="col" className="num">Available</th></tr></thead>
        <tbody>
          {availability.channels.map((channel) => (
            <tr key={channel.channel_id}>
              <th scope="row">{channel.name}{channel.enabled ? "" : " (disabled)"}</th>
              <td>{channel.type}</td>
              <td>{channel.location_ids.map((id) => availability.is_composite
                ? locationName(locations, id) : `${locationName(locations, id)}: ${held.get(id) ?? 0}`).join(", ")}</td>
              <td className="num">{channel.available}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function StockHistory({ api, itemId, locations }: { api: Api; itemId: string; locations: Location[] }) {
  const [entries, setEntries] = useState<HistoryEntry[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async (from: string | null) => {
    setLoading(true);
    try {
      const page = await api.stockHistory(itemId, from);
      setEntries((current) => (from === null ? page.entries : [...current, ...page.entries]));
      setCursor(page.next_cursor);
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setLoading(false);
    }
  }, [api, itemId]);

  useEffect(() => { void load(null); }, [load]);

  return (
    <section aria-labelledby="history-title">
      <h3 id="history-title">Stock history</h3>
      {error && <p role="alert" className="error">{error}</p>}
      {entries.length === 0 && !loading && <p className="muted small">No stock change yet.</p>}
      {entries.length > 0 && (
        <table className="table" aria-label="Stock history">
          <thead><tr><th scope="col">When</th><th scope="col">Location</th><th scope="col">Change</th>
            <th scope="col" className="num">Delta</th><th scope="col" className="num">Level</th><th scope="col">Reason</th></tr></thead>
          <tbody>
            {entries.map((entry) => (
              <tr key={entry.change_id}>
                <td>{when(entry.at)}</td>
                <td>{locationName(locations, entry.location_id)}</td>
                <td>{entry.kind}</td>
                <td className="num">{entry.delta > 0 ? `+${entry.delta}` : entry.delta}</td>
                <td className="num">{entry.level_before} → {entry.level_after}</td>
                <td>{entry.reason}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <LoadMore cursor={cursor} loading={loading} onMore={() => void load(cursor)} />
    </section>
  );
}
