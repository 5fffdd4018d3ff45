const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

export function when(value: string | null | undefined): string {
  return value ? dateTime.format(new Date(value)) : "";
}

export function count(value: number): string {
  return value.toLocaleString();
}

/** A limit as the grid shows it: empty = the channel's default. */
export function limit(value: number | null): string {
  return value === null ? "" : String(value);
}
