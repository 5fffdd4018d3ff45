import { type FormEvent, useCallback, useEffect, useState } from "react";
import type { Api } from "./api";
import { fieldErrors, messageOf } from "./common";
import { when } from "./format";
import { describeError, FINAL_STATUSES, jobFraction } from "./jobs";
import { PimProfileForm } from "./PimProfileForm";
import type { JobRow, PimConnection, PimProfile, PimTest } from "./types";

const POLL_MS = 1500;

/** Akeneo (seed 003): the connection and its test, the sync profiles, Run Now and the runs. */
export function AkeneoScreen({ api }: { api: Api }) {
  const [profiles, setProfiles] = useState<PimProfile[] | null>(null);
  const [chosen, setChosen] = useState<string>("");
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(async (select?: string) => {
    try {
      const found = (await api.pimProfileList()).profiles;
      setProfiles(found);
      setChosen((current) => select ?? (current || found[0]?.profile_id || "new"));
    } catch (failure) {
      setError(messageOf(failure));
    }
  }, [api]);
  useEffect(() => { void load(); }, [load]);

  const profile = profiles?.find((entry) => entry.profile_id === chosen) ?? null;
  return (
    <div className="screen">
      <h1>Akeneo</h1>
      <ConnectionPanel api={api} />
      <section className="pane" aria-labelledby="profiles-title">
        <h2 id="profiles-title">Sync profiles</h2>
        {error && <p role="alert" className="error">{error}</p>}
        <div className="filters">
          <label htmlFor="pim-profile">Profile</label>
          <select id="pim-profile" value={chosen} onChange={(event) => setChosen(event.target.value)}>
            {(profiles ?? []).map((entry) => <option key={entry.profile_id} value={entry.profile_id}>{entry.name}</option>)}
            <option value="new">New profile…</option>
          </select>
          {profile && <span className="small muted">Last complete run: {profile.last_success_at ? when(profile.last_success_at) : "never"}</span>}
        </div>
        {profiles && chosen && (
          <PimProfileForm key={chosen} api={api} profile={profile}
                          onSaved={(saved) => void load(saved.profile_id)} />
        )}
      </section>
      {profile && <RunsPanel key={profile.profile_id} api={api} profile={profile} />}
    </div>
  );
}

function ConnectionPanel({ api }: { api: Api }) {
  const [connection, setConnection] = useState<PimConnection | null>(null);
  const [form, setForm] = useState({ url: "", client_id: "", client_secret: "", username: "", password: "" });
  const [enabled, setEnabled] = useState(true);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [test, setTest] = useState<PimTest | null>(null);
  const [busy, setBusy] = useState(false);
  // Saving waits for the stored connection: the form starts from its URL and enabled switch.
  const [loaded, setLoaded] = useState(false);

  useEffect(() => {
    api.pimConnection().then((found) => {
      setConnection(found);
      setEnabled(found.enabled);
      setForm((current) => ({ ...current, url: current.url || found.url }));
    }, () => setConnection(null)).finally(() => setLoaded(true));
  }, [api]);

  async function save(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    setError(null);
    setMessage(null);
    setTest(null);
    try {
      const saved = await api.savePimConnection({ ...form, enabled });
      setConnection(saved);
      setForm((current) => ({ ...current, client_secret: "", password: "" }));
      setMessage("Connection saved. Test it to see that Akeneo accepts it.");
    } catch (failure) {
      setErrors(fieldErrors(failure));
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  }

  async function runTest() {
    setBusy(true);
    setTest(null);
    setError(null);
    try {
      setTest(await api.testPimConnection());
      setConnection(await api.pimConnection());
    } catch (failure) {
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  }

  const fields = [
    { name: "url", label: "Akeneo URL", type: "url" },
    { name: "client_id", label: "Client id", type: "text" },
    { name: "client_secret", label: "Client secret", type: "password" },
    { name: "username", label: "Username", type: "text" },
    { name: "password", label: "Password", type: "password" },
  ] as const;
  return (
    <section className="pane" aria-labelledby="connection-title">
      <h2 id="connection-title">Connection</h2>
      {connection && (
        <p className="small muted">
          {connection.has_credentials ? "Credentials stored (never shown)." : "No credentials yet."}
          {connection.last_test_at ? ` Last test ${when(connection.last_test_at)}: ${connection.last_test_status ?? ""}.` : ""}
          {connection.pim_version ? ` Akeneo ${connection.pim_version} ${connection.pim_edition ?? ""}.` : ""}
        </p>
      )}
      <form onSubmit={(event) => void save(event)} aria-label="Akeneo connection" noValidate>
        <div className="field-grid">
          {fields.map((field) => (
            <div key={field.name} className="field-block">
              <label htmlFor={`pim-${field.name}`}>{field.label}</label>
              <input id={`pim-${field.name}`} type={field.type} value={form[field.name]}
                     autoComplete={field.type === "password" ? "new-password" : "off"}
                     aria-invalid={errors[field.name] ? true : undefined}
                     aria-describedby={errors[field.name] ? `pim-${field.name}-error` : undefined}
                     onChange={(event) => setForm((current) => ({ ...current, [field.name]: event.target.value }))} />
              {errors[field.name] && <span id={`pim-${field.name}-error`} className="small error">{errors[field.name]}</span>}
            </div>
          ))}
          <label className="field"><span>Enabled (periodic runs)</span>
            <input type="checkbox" checked={enabled} onChange={(event) => setEnabled(event.target.checked)} /></label>
        </div>
        <div className="row-actions">
          <button type="submit" className="primary" disabled={busy || !loaded}>Save connection</button>
          <button type="button" disabled={busy || !connection?.has_credentials} onClick={() => void runTest()}>Test Connection</button>
        </div>
      </form>
      {error && <p role="alert" className="error">{error}</p>}
      {message && <p role="status" className="message">{message}</p>}
      {test && (test.success
        ? <p role="status" className="message">Connected: Akeneo {test.pim_version ?? ""} {test.pim_edition ?? ""}. {test.message}</p>
        : <p role="alert" className="error">Test failed ({test.problem}): {test.message}</p>)}
    </section>
  );
}

function RunsPanel({ api, profile }: { api: Api; profile: PimProfile }) {
  const [runs, setRuns] = useState<JobRow[]>([]);
  const [error, setError] = useState<string | null>(null);

  const load = useCallback(() => {
    api.pimRuns(profile.profile_id).then((found) => { setRuns(found.jobs); setError(null); },
                                          (failure: unknown) => setError(messageOf(failure)));
  }, [api, profile.profile_id]);
  useEffect(load, [load]);

  const running = runs.some((run) => !FINAL_STATUSES.has(run.status));
  useEffect(() => {
    if (!running) return;
    const timer = window.setTimeout(load, POLL_MS);
    return () => window.clearTimeout(timer);
  }, [running, runs, load]);

  async function runNow() {
    try {
      await api.runPimProfile(profile.profile_id);
      load();
    } catch (failure) {
      setError(messageOf(failure));
    }
  }

  return (
    <section className="pane" aria-labelledby="runs-title">
      <div className="screen-head">
        <h2 id="runs-title">Runs of {profile.name}</h2>
        <button type="button" className="primary" onClick={() => void runNow()}>Run Now</button>
      </div>
      <p className="small muted">A run is queued and starts soon: it may not be in real time.</p>
      {error && <p role="alert" className="error">{error}</p>}
      {runs.length === 0 && <p className="muted">No run yet.</p>}
      {runs.slice(0, 5).map((run) => {
        const fraction = jobFraction(run);
        const figures = Object.entries(run.result).filter(([, value]) => typeof value === "number");
        return (
          <section key={run.job_id} className={`job job-${run.status}`} aria-label={`Run ${when(run.created_at)}: ${run.status}`}>
            <div className="job-head"><strong>Run {when(run.created_at)}</strong><span className="job-status">{run.status}</span></div>
            <progress max={1} value={fraction ?? undefined} aria-label={`Run ${when(run.created_at)} progress`} />
            <p className="job-message">{run.message}{run.total ? ` (${run.done} of ${run.total})` : ""}</p>
            {figures.length > 0 && <p className="small muted">{figures.map(([name, value]) => `${name.replaceAll("_", " ")}: ${String(value)}`).join(" · ")}</p>}
            {run.errors.length > 0 && (
              <details>
                <summary>{run.error_count} product error{run.error_count === 1 ? "" : "s"}</summary>
                <ul className="plain">{run.errors.slice(0, 50).map((problem, index) => <li key={index}>{describeError(problem)}</li>)}</ul>
              </details>
            )}
          </section>
        );
      })}
    </section>
  );
}
