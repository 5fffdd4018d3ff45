import { useVirtualizer } from "@tanstack/react-virtual";
import { type KeyboardEvent, useEffect, useRef, useState } from "react";
import { limit, shortWhen, when } from "./format";
import type { Limits, Listing } from "./types";

export const ROW_HEIGHT = 36;
// Ask for the next page while this many loaded rows are still below the visible ones.
const PREFETCH_ROWS = 40;

export interface RowEdits {
  setIgnoreSync: (listing: Listing, value: boolean) => void;
  setLimit: (listing: Listing, field: keyof Limits, value: number | null) => void;
}

const SORTED_COLUMN = "Channel SKU";
const COLUMNS = ["Channel SKU", "Title", "Linked item", "FBA", "Ignore Sync", "Max Listed", "End When", "Percentage",
                 "Last Update", "Update Status", "Submitted Qty", "Sync status"];

/** The listings, virtualised: only the rows in view are in the DOM; scrolling near the end asks for more. */
export function ListingGrid({ listings, total, hasMore, loading, selected, onSelect, onOpen, onNeedMore, edits,
                             descending, onToggleOrder }: {
  listings: Listing[]; total: number; hasMore: boolean; loading: boolean; selected: string | null;
  onSelect: (sku: string) => void; onOpen: (listing: Listing) => void; onNeedMore: () => void; edits: RowEdits;
  descending: boolean; onToggleOrder: () => void;
}) {
  const scroller = useRef<HTMLDivElement>(null);
  const virtualizer = useVirtualizer({
    count: listings.length, getScrollElement: () => scroller.current, estimateSize: () => ROW_HEIGHT, overscan: 12,
    scrollMargin: ROW_HEIGHT, // the sticky header row above the first listing
  });
  const rows = virtualizer.getVirtualItems();
  const lastShown = rows[rows.length - 1]?.index ?? 0;

  useEffect(() => {
    if (hasMore && !loading && lastShown >= listings.length - PREFETCH_ROWS) onNeedMore();
  }, [hasMore, loading, lastShown, listings.length, onNeedMore]);

  const selectedIndex = listings.findIndex((listing) => listing.sku === selected);

  function onKeyDown(event: KeyboardEvent<HTMLDivElement>) {
    if ((event.target as HTMLElement).closest("input, button")) return;
    const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: 15, PageUp: -15 };
    const move = moves[event.key];
    if (move !== undefined && listings.length) {
      event.preventDefault();
      const next = Math.max(0, Math.min(listings.length - 1, (selectedIndex < 0 ? -1 : selectedIndex) + move));
      onSelect(listings[next]!.sku);
      virtualizer.scrollToIndex(next);
    } else if (event.key === "Enter" && selectedIndex >= 0) {
      event.preventDefault();
      onOpen(listings[selectedIndex]!);
    }
  }

  return (
    <div className="grid" role="grid" aria-label="Listings" aria-rowcount={total + 1} aria-colcount={COLUMNS.length}
         aria-busy={loading} aria-activedescendant={selectedIndex >= 0 ? rowId(selectedIndex) : undefined}
         tabIndex={0} onKeyDown={onKeyDown} ref={scroller}>
      <div className="grid-row grid-head" role="row" aria-rowindex={1}>
        {COLUMNS.map((name) => name === SORTED_COLUMN ? (
          // The server keeps listings in channel SKU order, either way: the one column it sorts by.
          <div key={name} role="columnheader" className="cell" aria-sort={descending ? "descending" : "ascending"}>
            <button type="button" className="sort" onClick={onToggleOrder}
                    title={descending ? "Sorted Z to A: sort A to Z" : "Sorted A to Z: sort Z to A"}>
              {name} {descending ? "▼" : "▲"}
            </button>
          </div>
        ) : <div key={name} role="columnheader" className="cell">{name}</div>)}
      </div>
      <div className="grid-spacer" role="rowgroup" style={{ height: virtualizer.getTotalSize() }}>
        {rows.map((row) => {
          const listing = listings[row.index]!;
          return (
            <Row key={listing.sku} id={rowId(row.index)} index={row.index} top={row.start - ROW_HEIGHT}
                 listing={listing} selected={listing.sku === selected} onSelect={onSelect} onOpen={onOpen}
                 edits={edits} />
          );
        })}
      </div>
      {!loading && listings.length === 0 && <p className="empty">No listing matches.</p>}
    </div>
  );
}

function rowId(index: number): string {
  return `listing-row-${index}`;
}

function Row({ id, index, top, listing, selected, onSelect, onOpen, edits }: {
  id: string; index: number; top: number; listing: Listing; selected: boolean; onSelect: (sku: string) => void;
  onOpen: (listing: Listing) => void; edits: RowEdits;
}) {
  const { sync, limits } = listing;
  const failed = Boolean(sync.error);
  return (
    <div id={id} role="row" aria-rowindex={index + 2} aria-selected={selected} data-sku={listing.sku}
         className={`grid-row${selected ? " selected" : ""}${failed ? " failed" : ""}`}
         style={{ transform: `translateY(${top}px)` }}
         onClick={() => onSelect(listing.sku)} onDoubleClick={() => onOpen(listing)}>
      <div role="gridcell" className="cell mono" title={listing.sku}>{listing.sku}</div>
      <div role="gridcell" className="cell" title={listing.title}>{listing.title}</div>
      <div role="gridcell" className="cell" title={listing.linked_item?.title}>
        {listing.linked_item ? <span className="mono">{listing.linked_item.sku}</span> : <span className="muted">unlinked</span>}
      </div>
      <div role="gridcell" className="cell centre">{listing.fba ? "FBA" : ""}</div>
      <div role="gridcell" className="cell centre">
        <input type="checkbox" checked={listing.ignore_sync} aria-label={`Ignore Sync for ${listing.sku}`}
               onChange={(event) => edits.setIgnoreSync(listing, event.target.checked)} />
      </div>
      {(["max_listed", "end_when", "percentage"] as const).map((field) => (
        <div role="gridcell" className="cell" key={field}>
          <LimitInput listing={listing} field={field} value={limits[field]} onCommit={edits.setLimit} />
        </div>
      ))}
      <div role="gridcell" className="cell" title={when(sync.last_update)}>{shortWhen(sync.last_update)}</div>
      <div role="gridcell" className="cell">{sync.update_status ?? ""}</div>
      <div role="gridcell" className="cell num">{sync.submitted_quantity ?? ""}</div>
      <div role="gridcell" className={`cell${failed ? " error-text" : ""}`}
           title={sync.error ?? (sync.update_date ? `Quantity last changed ${when(sync.update_date)}` : undefined)}>
        {syncState(listing)}
      </div>
    </div>
  );
}

/** What stock sync does with the listing, in a word or two. */
function syncState(listing: Listing): string {
  if (listing.sync.error) return listing.sync.error;
  if (listing.ignore_sync) return "not sent: Ignore Sync";
  if (!listing.linked_item) return "not sent: unlinked";
  if (!listing.sync.last_update) return "waiting to be sent";
  return listing.sync.update_status === "pending" ? "sent, pending" : "sent";
}

const LIMIT_NAMES: Record<keyof Limits, string> = { max_listed: "Max Listed", end_when: "End When", percentage: "Percentage" };

/** A limit edited in place: Enter or leaving the field saves it; empty = the channel's default; Escape undoes. */
function LimitInput({ listing, field, value, onCommit }: {
  listing: Listing; field: keyof Limits; value: number | null;
  onCommit: (listing: Listing, field: keyof Limits, value: number | null) => void;
}) {
  const [text, setText] = useState(limit(value));
  useEffect(() => setText(limit(value)), [value]);
  function commit() {
    const trimmed = text.trim();
    const parsed = trimmed === "" ? null : Number(trimmed);
    if (parsed !== null && Number.isNaN(parsed)) {
      setText(limit(value));
      return;
    }
    if (parsed !== value) onCommit(listing, field, parsed);
  }
  return (
    <input className="limit" inputMode="decimal" value={text} placeholder="default"
           aria-label={`${LIMIT_NAMES[field]} for ${listing.sku}`}
           onChange={(event) => setText(event.target.value)} onBlur={commit}
           onKeyDown={(event) => {
             if (event.key === "Enter") (event.target as HTMLInputElement).blur();
             if (event.key === "Escape") setText(limit(value));
           }} />
  );
}
