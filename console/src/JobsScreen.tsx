import { useEffect, useMemo, useState } from "react";
import type { Api } from "./api";
import { LoadMore, messageOf, useCursorPages } from "./common";
import { when } from "./format";
import { describeError, FINAL_STATUSES, jobFraction } from "./jobs";
import type { Channel, JobRow, PimProfileRow } from "./types";

const POLL_MS = 2000;

/** The long work that ran on a channel or a PIM profile: each job's progress, result and errors. */
export function JobsScreen({ api }: { api: Api }) {
  const [channels, setChannels] = useState<Channel[]>([]);
  const [profiles, setProfiles] = useState<PimProfileRow[]>([]);
  const [subject, setSubject] = useState(() => new URLSearchParams(location.search).get("subject") ?? "");
  const fetchJobs = useMemo(() => (subject ? (from: string | null) => api.jobsOf(subject, from)
    .then((page) => ({ rows: page.jobs, next_cursor: page.next_cursor })) : null), [api, subject]);
  const { rows: jobs, cursor, loading, error, setError, load } = useCursorPages<JobRow>(fetchJobs);

  useEffect(() => {
    api.channels().then((found) => {
      setChannels(found.channels);
      setSubject((current) => current || found.channels[0]?.channel_id || "");
    }, (failure: unknown) => setError(messageOf(failure)));
    api.pimProfiles().then((found) => setProfiles(found.profiles), () => setProfiles([]));
  }, [api]);

  useEffect(() => {
    const url = new URL(location.href);
    if (subject) url.searchParams.set("subject", subject);
    history.replaceState(null, "", url);
  }, [subject]);

  // While a job runs, the first page is asked for again, so its progress moves on the screen.
  const running = jobs.some((job) => !FINAL_STATUSES.has(job.status));
  useEffect(() => {
    if (!running) return;
    const timer = window.setTimeout(() => void load(null), POLL_MS);
    return () => window.clearTimeout(timer);
  }, [running, jobs, load]);

  return (
    <section className="screen" aria-labelledby="jobs-title">
      <div className="screen-head">
        <h1 id="jobs-title">Jobs</h1>
        <button type="button" onClick={() => void load(null)}>Refresh</button>
      </div>
      <div className="filters">
        <label>Jobs of
          <select value={subject} onChange={(event) => setSubject(event.target.value)}>
            <optgroup label="Channels">
              {channels.map((channel) => <option key={channel.channel_id} value={channel.channel_id}>{channel.name}</option>)}
            </optgroup>
            {profiles.length > 0 && (
              <optgroup label="PIM profiles">
                {profiles.map((profile) => <option key={profile.profile_id} value={profile.profile_id}>{profile.name}</option>)}
              </optgroup>
            )}
          </select>
        </label>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {!loading && jobs.length === 0 && <p className="empty">No job has run on it yet.</p>}
      {jobs.length > 0 && (
        <table className="table" aria-label="Jobs">
          <thead><tr><th scope="col">Started</th><th scope="col">Kind</th><th scope="col">Status</th>
            <th scope="col">Progress</th><th scope="col">Message and result</th><th scope="col">Problems</th></tr></thead>
          <tbody>
            {jobs.map((job) => <JobLine key={job.job_id} job={job} />)}
          </tbody>
        </table>
      )}
      <LoadMore cursor={cursor} loading={loading} onMore={() => void load(cursor)} />
    </section>
  );
}

function JobLine({ job }: { job: JobRow }) {
  const fraction = jobFraction(job);
  const figures = Object.entries(job.result).filter(([, value]) => typeof value === "number");
  const kind = job.kind.replaceAll("_", " ");
  return (
    <tr data-job={job.job_id} className={`job-row job-${job.status}`}>
      <td>{when(job.created_at)}</td>
      <td>{kind}</td>
      <td>{job.status}</td>
      <td className="progress-cell">
        <progress max={1} value={fraction ?? undefined} aria-label={`${kind} ${when(job.created_at)} progress`} />
        <span className="small muted">{job.total ? `${job.done} of ${job.total}` : ""}</span>
      </td>
      <td>{job.message}
        {figures.length > 0 && (
          <div className="small muted">{figures.map(([name, value]) => `${name.replaceAll("_", " ")}: ${String(value)}`).join(" · ")}</div>
        )}</td>
      <td>{job.error_count === 0 ? "none" : (
        <details>
          <summary>{job.error_count} problem{job.error_count === 1 ? "" : "s"}</summary>
          <ul className="plain">{job.errors.slice(0, 50).map((problem, index) => <li key={index}>{describeError(problem)}</li>)}</ul>
        </details>
      )}</td>
    </tr>
  );
}
