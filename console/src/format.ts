const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short", hourCycle: "h23" });
const shortDateTime = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });

/** A date as a grid cell shows it: day and time, the year left out. */
export function shortWhen(value: string | null | undefined): string {
  return value ? shortDateTime.format(new Date(value)) : "";
}

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
