import { useEffect, useRef, useState } from "react";
import type { Api } from "./api";
import type { Job, RowError } from "./types";

export const FINAL_STATUSES = new Set(["succeeded", "failed"]);
const POLL_MS = 1000;

/** A long action followed to its end: a job polled until it succeeds or fails. */
export interface TrackedJob {
  label: string;
  job: Job;
  /** A catalogue load's channel: its row errors are shown once the load ends. */
  loadOf?: string;
}

export function useJobTracker(api: Api, onFinished: (tracked: TrackedJob) => void) {
  const [jobs, setJobs] = useState<TrackedJob[]>([]);
  const finished = useRef(onFinished);
  finished.current = onFinished;

  const running = jobs.filter((tracked) => !FINAL_STATUSES.has(tracked.job.status));
  const runningIds = running.map((tracked) => tracked.job.job_id).join(",");

  useEffect(() => {
    if (!runningIds) return;
    const timer = window.setTimeout(async () => {
      const updates = await Promise.all(runningIds.split(",").map((id) => api.job(id).catch(() => null)));
      setJobs((current) => current.map((tracked) => {
        const update = updates.find((job) => job?.job_id === tracked.job.job_id);
        if (!update) return tracked;
        if (FINAL_STATUSES.has(update.status) && !FINAL_STATUSES.has(tracked.job.status)) {
          queueMicrotask(() => finished.current({ ...tracked, job: update }));
        }
        return { ...tracked, job: update };
      }));
    }, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [api, runningIds, jobs]);

  return {
    jobs,
    track: (label: string, job: Job, loadOf?: string) =>
      setJobs((current) => [{ label, job, loadOf }, ...current].slice(0, 6)),
    dismiss: (jobId: string) => setJobs((current) => current.filter((tracked) => tracked.job.job_id !== jobId)),
  };
}

export function jobFraction(job: Job): number | null {
  if (job.status === "succeeded") return 1;
  if (job.total) return Math.min(1, job.done / job.total);
  if (job.bytes_total) return Math.min(1, job.bytes_done / job.bytes_total);
  return null;
}

export function JobBar({ api, tracked, onDismiss }: { api: Api; tracked: TrackedJob; onDismiss: () => void }) {
  const { job, label, loadOf } = tracked;
  const fraction = jobFraction(job);
  const final = FINAL_STATUSES.has(job.status);
  const ambiguous = (job.result.ambiguous_listings as { skus: string[]; reason: string }[] | undefined) ?? [];
  const figures = Object.entries(job.result).filter(([, value]) => typeof value === "number");
  const [rowErrors, setRowErrors] = useState<RowError[] | null>(null);
  useEffect(() => {
    if (!final || !loadOf) return;
    api.catalogueErrors(loadOf, job.job_id).then((page) => setRowErrors(page.errors), () => setRowErrors(null));
  }, [api, final, loadOf, job.job_id]);
  return (
    <section className={`job job-${job.status}`} aria-label={`${label}: ${job.status}`}>
      <div className="job-head">
        <strong>{label}</strong>
        <span className="job-status">{statusWord(job.status)}</span>
        {final && <button type="button" className="link" onClick={onDismiss}>Dismiss</button>}
      </div>
      <progress max={1} value={fraction ?? undefined} aria-label={`${label} progress`}>
        {fraction === null ? "" : `${Math.round(fraction * 100)} %`}
      </progress>
      <p className="job-message">{job.message}{!final && job.total ? ` (${job.done} of ${job.total})` : ""}</p>
      {final && figures.length > 0 && (
        <p className="small muted">{figures.map(([name, value]) => `${name.replaceAll("_", " ")}: ${String(value)}`).join(" · ")}</p>
      )}
      {rowErrors && rowErrors.length > 0 && (
        <details open>
          <summary>{rowErrors.length} row error{rowErrors.length === 1 ? "" : "s"} in the file</summary>
          <ul className="plain">
            {rowErrors.map((error, index) => (
              <li key={index}>row {error.row}{error.field ? `, ${error.field}` : ""}: {error.reason}
                {error.value ? <> (<code>{error.value}</code>)</> : null}</li>
            ))}
          </ul>
        </details>
      )}
      {ambiguous.length > 0 && (
        <details>
          <summary>Ambiguity report: {ambiguous.length} left unlinked</summary>
          <ul className="plain">
            {ambiguous.map((entry) => <li key={entry.skus.join(",")}><code>{entry.skus.join(", ")}</code>: {entry.reason}</li>)}
          </ul>
        </details>
      )}
      {job.errors.length > 0 && (
        <details open={job.status === "failed"}>
          <summary>{job.error_count} problem{job.error_count === 1 ? "" : "s"}</summary>
          <ul className="plain">
            {job.errors.slice(0, 50).map((error, index) => <li key={index}>{describeError(error)}</li>)}
          </ul>
        </details>
      )}
    </section>
  );
}

function statusWord(status: string): string {
  return { queued: "Queued", running: "Running", succeeded: "Done", failed: "Failed" }[status] ?? status;
}

export function describeError(error: Record<string, unknown>): string {
  const where = [error.row !== undefined ? `row ${String(error.row)}` : "", error.sku ? `SKU ${String(error.sku)}` : "",
                 error.column || error.field ? `${String(error.column ?? error.field)}` : ""].filter(Boolean).join(", ");
  return `${where ? `${where}: ` : ""}${String(error.reason ?? error.message ?? JSON.stringify(error))}`;
}
