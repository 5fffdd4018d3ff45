import { type FormEvent, useEffect, useRef, useState } from "react";
import type { Api } from "./api";
import { Modal } from "./Modal";
import type { ItemRow, Listing } from "./types";

/** Link by hand: search the inventory by SKU, part of a SKU or title, then pick one (double-click or Enter). */
export function LinkDialog({ api, listing, onClose, onLink }:
    { api: Api; listing: Pick<Listing, "sku" | "title">; onClose: () => void; onLink: (itemId: string) => Promise<void> }) {
  const [q, setQ] = useState(listing.sku);
  const [items, setItems] = useState<ItemRow[] | null>(null);
  const [chosen, setChosen] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);

  // Only the latest search shows: an earlier one answering late (the dialog's own first search, say) is dropped.
  const latest = useRef(0);
  async function search(text: string) {
    const mine = ++latest.current;
    setError(null);
    try {
      const page = await api.items(text.trim());
      if (mine !== latest.current) return;
      setItems(page.items);
      setChosen(page.items[0]?.item_id ?? null);
    } catch (failure) {
      if (mine === latest.current) setError((failure as Error).message);
    }
  }

  useEffect(() => { void search(listing.sku); }, []);

  function submit(event: FormEvent) {
    event.preventDefault();
    void search(q);
  }

  return (
    <Modal title={`Link ${listing.sku}`} onClose={onClose} wide>
      <div className="modal-body">
        <p className="muted">{listing.title}</p>
        <form className="inline-form" onSubmit={submit} role="search">
          <label>Find an item
            <input type="search" value={q} autoFocus onChange={(event) => setQ(event.target.value)}
                   placeholder="SKU, part of a SKU or title" />
          </label>
          <button type="submit">Search</button>
        </form>
        {error && <p className="error" role="alert">{error}</p>}
        {items && items.length === 0 && <p>No item matches “{q}”.</p>}
        {items && items.length > 0 && (
          <ul className="pick-list" role="listbox" aria-label="Items found" tabIndex={0}
              aria-activedescendant={chosen ? `item-${chosen}` : undefined}
              onKeyDown={(event) => {
                const index = items.findIndex((item) => item.item_id === chosen);
                if (event.key === "ArrowDown" || event.key === "ArrowUp") {
                  event.preventDefault();
                  const next = Math.max(0, Math.min(items.length - 1, index + (event.key === "ArrowDown" ? 1 : -1)));
                  setChosen(items[next]!.item_id);
                } else if (event.key === "Enter" && chosen) {
                  event.preventDefault();
                  void onLink(chosen);
                }
              }}>
            {items.map((item) => (
              <li key={item.item_id} id={`item-${item.item_id}`} role="option" aria-selected={item.item_id === chosen}
                  className={item.item_id === chosen ? "selected" : ""}
                  onClick={() => setChosen(item.item_id)} onDoubleClick={() => void onLink(item.item_id)}>
                <span className="mono">{item.sku}</span> <span>{item.title}</span>
              </li>
            ))}
          </ul>
        )}
      </div>
      <div className="modal-actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="button" className="primary" disabled={!chosen} onClick={() => chosen && void onLink(chosen)}>
          Link
        </button>
      </div>
    </Modal>
  );
}
