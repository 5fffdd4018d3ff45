/** Small pieces every screen shares: the locations, an error's words, lists paged by cursor and their "Load more". */
import { useCallback, useEffect, useRef, useState } from "react";
import { type Api, ApiError } from "./api";
import type { Location } from "./types";

/** The API's message, as it said it (the console does not reword a refusal). */
export function messageOf(failure: unknown): string {
  return failure instanceof Error ? failure.message : String(failure);
}

/** The API's field errors, by field (`settings.base_url` -> its message), when it named fields. */
export function fieldErrors(failure: unknown): Record<string, string> {
  if (!(failure instanceof ApiError)) return {};
  const details = failure.details as { field?: unknown } | null;
  if (details && !Array.isArray(details) && typeof details.field === "string") return { [details.field]: failure.message };
  if (!Array.isArray(failure.details)) return {};
  const found: Record<string, string> = {};
  for (const detail of failure.details as unknown[]) {
    if (typeof detail !== "object" || detail === null) continue;
    const { field, loc, message, msg } = detail as { field?: unknown; loc?: unknown; message?: unknown; msg?: unknown };
    // A request the API could not read names its fields from the body ("body.name"); a refused one plainly.
    const name = typeof field === "string" ? field.replace(/^body\./, "")
      : Array.isArray(loc) ? loc.filter((part) => part !== "body").join(".") : "";
    const text = typeof message === "string" ? message : typeof msg === "string" ? msg : "";
    if (name && text) found[name] = text;
  }
  return found;
}

export function useLocations(api: Api): Location[] {
  const [locations, setLocations] = useState<Location[]>([]);
  useEffect(() => {
    api.locations().then((found) => setLocations(found.locations), () => setLocations([]));
  }, [api]);
  return locations;
}

export function locationName(locations: Location[], locationId: string | null): string {
  if (!locationId) return "";
  return locations.find((location) => location.location_id === locationId)?.name ?? locationId;
}

export function LoadMore({ cursor, loading, onMore }: { cursor: string | null; loading: boolean; onMore: () => void }) {
  if (!cursor) return null;
  return <button type="button" disabled={loading} onClick={onMore}>{loading ? "Loading…" : "Load more"}</button>;
}

export interface CursorPage<T> {
  rows: T[];
  next_cursor: string | null;
}

/** A list the API pages by cursor: the first page read whenever `fetchPage` changes (null: nothing to
 * read yet), `load(null)` to read it again, `load(cursor)` to add the next page. An answer to a read
 * the list has since started again is dropped, so a slow page of an old search never shows. */
export function useCursorPages<T>(fetchPage: ((cursor: string | null) => Promise<CursorPage<T>>) | null) {
  const [rows, setRows] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const generation = useRef(0);

  const load = useCallback(async (from: string | null) => {
    if (!fetchPage) return;
    const mine = from === null ? ++generation.current : generation.current;
    setLoading(true);
    try {
      const page = await fetchPage(from);
      if (mine !== generation.current) return;
      setRows((current) => (from === null ? page.rows : [...current, ...page.rows]));
      setCursor(page.next_cursor);
      setError(null);
    } catch (failure) {
      if (mine === generation.current) setError(messageOf(failure));
    } finally {
      if (mine === generation.current) setLoading(false);
    }
  }, [fetchPage]);

  useEffect(() => { void load(null); }, [load]);
  return { rows, cursor, loading, error, setError, load };
}
