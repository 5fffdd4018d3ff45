import { useId } from "react";
import { count, shortWhen } from "./format";
import type { SyncHour } from "./types";

// The drawing's own units (the SVG scales to the card's width): room on the left for the count axis,
// below for the days.
const WIDTH = 320;
const HEIGHT = 118;
const LEFT = 30;
const RIGHT = 4;
const TOP = 8;
const BOTTOM = 18;
const PLOT_WIDTH = WIDTH - LEFT - RIGHT;
const PLOT_HEIGHT = HEIGHT - TOP - BOTTOM;

const dayLabel = new Intl.DateTimeFormat(undefined, { weekday: "short", day: "numeric" });

/** The smallest of 1, 2, 5, 10, 20, 50... at or above `value`: the count axis ends on a round number. */
function roundUp(value: number): number {
  if (value <= 1) return 1;
  const magnitude = 10 ** Math.floor(Math.log10(value));
  return [1, 2, 5, 10].map((step) => step * magnitude).find((top) => top >= value) ?? 10 * magnitude;
}

/** What the chart says, for a screen reader and as its tooltip: the totals over the hours shown. */
export function chartSummary(hours: SyncHour[]): string {
  const sent = hours.reduce((total, hour) => total + hour.sent, 0);
  const errors = hours.reduce((total, hour) => total + hour.errors, 0);
  const retrying = hours.reduce((total, hour) => total + hour.retrying, 0);
  const throttled = retrying ? `, ${count(retrying)} throttled` : "";
  return `Listings synced per hour, last ${hours.length} hours: ${count(sent)} sent, ${count(errors)} errors${throttled}`;
}

/** Listings sent per hour as bars, the channel's refusals stacked on them in a second colour; days along
 * the bottom (a labelled tick at each midnight, local time, small ones every 6 hours), the count up the
 * side. Plain SVG. */
export function SyncChart({ hours }: { hours: SyncHour[] }) {
  const titleId = useId();
  const summary = chartSummary(hours);
  const top = roundUp(Math.max(0, ...hours.map((hour) => hour.sent + hour.errors)));
  const step = PLOT_WIDTH / Math.max(1, hours.length);
  const barWidth = Math.max(1, step - 1);
  const y = (value: number) => TOP + PLOT_HEIGHT - (value / top) * PLOT_HEIGHT;
  const midnights = hours.flatMap((hour, index) => (new Date(hour.hour).getHours() === 0 ? [{ index, hour }] : []));
  const quarters = hours.flatMap((hour, index) => ([6, 12, 18].includes(new Date(hour.hour).getHours()) ? [index] : []));
  const nothing = hours.every((hour) => hour.sent === 0 && hour.errors === 0);
  return (
    <figure className="sync-chart">
      <figcaption className="small muted">Listings synced per hour, last {hours.length % 24 === 0
        ? `${hours.length / 24} days` : `${hours.length} hours`}</figcaption>
      <svg viewBox={`0 0 ${WIDTH} ${HEIGHT}`} role="img" aria-labelledby={titleId} preserveAspectRatio="xMidYMid meet">
        <title id={titleId}>{summary}</title>
        <line className="grid" x1={LEFT} x2={WIDTH - RIGHT} y1={y(top)} y2={y(top)} />
        <line className="grid" x1={LEFT} x2={WIDTH - RIGHT} y1={y(top / 2)} y2={y(top / 2)} />
        <text className="axis" x={LEFT - 4} y={y(top) + 3} textAnchor="end">{count(top)}</text>
        <text className="axis" x={LEFT - 4} y={y(0) + 3} textAnchor="end">0</text>
        {hours.map((hour, index) => {
          if (hour.sent === 0 && hour.errors === 0) return null;
          const x = LEFT + index * step;
          return (
            <g key={hour.hour} data-hour={hour.hour}>
              <title>{`${shortWhen(hour.hour)}: ${hour.sent} sent, ${hour.errors} errors`}</title>
              {hour.sent > 0 && <rect className="bar sent" x={x} width={barWidth} y={y(hour.sent)}
                height={y(0) - y(hour.sent)} />}
              {hour.errors > 0 && <rect className="bar errors" x={x} width={barWidth} y={y(hour.sent + hour.errors)}
                height={y(hour.sent) - y(hour.sent + hour.errors)} />}
            </g>
          );
        })}
        <line className="baseline" x1={LEFT} x2={WIDTH - RIGHT} y1={y(0)} y2={y(0)} />
        {quarters.map((index) => (
          <line key={`q-${index}`} className="tick minor" x1={LEFT + index * step} x2={LEFT + index * step} y1={y(0)}
            y2={y(0) + 2} />
        ))}
        {midnights.map(({ index, hour }) => {
          const x = LEFT + index * step;
          const nearEnd = x > WIDTH - RIGHT - 30; // a late midnight's day reads leftwards of its tick, inside the chart
          return (
            <g key={`day-${index}`}>
              <line className="tick" x1={x} x2={x} y1={y(0)} y2={y(0) + 4} />
              <text className="axis" x={nearEnd ? x - 2 : x + 2} y={HEIGHT - 4} textAnchor={nearEnd ? "end" : "start"}>
                {dayLabel.format(new Date(hour.hour))}</text>
            </g>
          );
        })}
        {nothing && <text className="axis" x={LEFT + PLOT_WIDTH / 2} y={TOP + PLOT_HEIGHT / 2} textAnchor="middle">
          Nothing sent in these hours</text>}
      </svg>
      <ul className="legend small">
        <li><span className="swatch sent" />Sent</li>
        <li><span className="swatch errors" />Errors</li>
      </ul>
    </figure>
  );
}
