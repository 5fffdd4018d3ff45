import { type ChangeEvent, type DragEvent, useState } from "react";
import { type Api, ApiError } from "./api";
import { headerOf } from "./csv";
import { Modal } from "./Modal";
import type { Channel, ColumnMapping, ImportReport, Job } from "./types";

type Track = (label: string, job: Job, loadOf?: string) => void;

const EXPORT_FIELDS: [string, string, boolean][] = [
  ["channel_sku", "Channel SKU", true], ["title", "Title", true], ["linked_sku", "Linked SKU", true],
  ["linked_title", "Linked Title", true], ["fba", "FBA", true], ["ignore_sync", "Ignore Sync", true],
  ["max_listed", "Max Listed", true], ["end_when", "End When", true], ["percentage", "Percentage", true],
  ["submitted_quantity", "Submitted Quantity", false], ["last_update", "Last Update", false],
  ["status", "Status", false], ["price", "Price", false], ["quantity", "Quantity", false],
];

const IMPORT_FIELDS: [keyof ColumnMapping, string][] = [
  ["channel_sku", "Channel SKU"], ["item_sku", "Linked SKU"], ["ignore_sync", "Ignore Sync"],
  ["max_listed", "Max Listed"], ["end_when", "End When"], ["percentage", "Percentage"],
];

type Open = "export" | "import" | "limits" | "upload" | null;

/** Files in and out: the mapping as CSV, a mapping or Min/Max import, a catalogue upload. */
export function FileActions({ api, channel, track, onApplied }:
    { api: Api; channel: Channel; track: Track; onApplied: () => void }) {
  const [open, setOpen] = useState<Open>(null);
  const close = () => setOpen(null);
  return (
    <section className="actions files" aria-label="Files">
      <div className="action-buttons">
        <button type="button" onClick={() => setOpen("export")}>Export Mapping…</button>
        <button type="button" onClick={() => setOpen("import")}>Import Mapping…</button>
        <button type="button" onClick={() => setOpen("limits")}>Import Min/Max…</button>
        <button type="button" onClick={() => setOpen("upload")}>Load Catalogue…</button>
      </div>
      {open === "export" && <ExportDialog api={api} channel={channel} onClose={close} />}
      {(open === "import" || open === "limits") && (
        <ImportDialog api={api} channel={channel} limits={open === "limits"} track={track} onClose={close}
                      onApplied={onApplied} />
      )}
      {open === "upload" && <UploadDialog api={api} channel={channel} track={track} onClose={close} />}
    </section>
  );
}

function download(text: string, name: string) {
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv;charset=utf-8" }));
  const anchor = document.createElement("a");
  anchor.href = url;
  anchor.download = name;
  document.body.append(anchor);
  anchor.click();
  anchor.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function ExportDialog({ api, channel, onClose }: { api: Api; channel: Channel; onClose: () => void }) {
  const [chosen, setChosen] = useState(() => new Set(EXPORT_FIELDS.filter(([, , on]) => on).map(([name]) => name)));
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function exportNow() {
    setBusy(true);
    setError(null);
    try {
      const fields = EXPORT_FIELDS.map(([name]) => name).filter((name) => chosen.has(name));
      download(await api.exportMapping(channel.channel_id, fields), `mapping-${channel.name}.csv`);
      onClose();
    } catch (failure) {
      setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  }
  return (
    <Modal title="Export Mapping" onClose={onClose}>
      <div className="modal-body">
        <fieldset>
          <legend>Fields to include</legend>
          <div className="field-grid">
            {EXPORT_FIELDS.map(([name, label]) => (
              <label key={name}>
                <input type="checkbox" checked={chosen.has(name)} onChange={(event) => {
                  const next = new Set(chosen);
                  if (event.target.checked) next.add(name); else next.delete(name);
                  setChosen(next);
                }} /> {label}
              </label>
            ))}
          </div>
        </fieldset>
        {error && <p className="error" role="alert">{error}</p>}
      </div>
      <div className="modal-actions">
        <button type="button" onClick={onClose}>Cancel</button>
        <button type="button" className="primary" disabled={busy || chosen.size === 0} onClick={() => void exportNow()}>
          Export CSV
        </button>
      </div>
    </Modal>
  );
}

function guessColumn(header: string[], label: string, field: string): string {
  const wanted = [label.toLowerCase(), field.replace("_", " "), field];
  if (field === "channel_sku") wanted.push("sku");
  return header.find((name) => wanted.includes(name.toLowerCase())) ?? "";
}

function ImportDialog({ api, channel, limits, track, onClose, onApplied }: {
  api: Api; channel: Channel; limits: boolean; track: Track; onClose: () => void; onApplied: () => void;
}) {
  const [file, setFile] = useState<{ name: string; text: string; header: string[] } | null>(null);
  const [columns, setColumns] = useState<Record<string, string>>({});
  const [report, setReport] = useState<ImportReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const title = limits ? "Import Min/Max" : "Import Mapping";

  async function choose(event: ChangeEvent<HTMLInputElement>) {
    const picked = event.target.files?.[0];
    if (!picked) return;
    const text = await picked.text();
    const header = headerOf(text);
    setFile({ name: picked.name, text, header });
    setColumns(Object.fromEntries(IMPORT_FIELDS.map(([field, label]) => [field, guessColumn(header, label, field)])));
    setReport(null);
    setError(null);
  }

  function mapping(): ColumnMapping {
    const chosen = Object.fromEntries(Object.entries(columns).map(([field, column]) => [field, column || null]));
    return { ...chosen, channel_sku: columns.channel_sku ?? "" } as ColumnMapping;
  }

  async function send(dryRun: boolean) {
    if (!file) return;
    setBusy(true);
    setError(null);
    try {
      const answer = limits
        ? await api.importLimits(channel.channel_id, file.text, dryRun)
        : await api.importMapping(channel.channel_id, file.text, mapping(), dryRun);
      if ("job_id" in answer) {
        track(`${title}${dryRun ? " (dry run)" : ""}`, answer);
        onClose();
        return;
      }
      setReport(answer);
      if (answer.applied) {
        onApplied();
      }
    } catch (failure) {
      if (failure instanceof ApiError && failure.code === "invalid_file") setReport(failure.details as ImportReport);
      else setError((failure as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title={title} onClose={onClose} wide>
      <div className="modal-body">
        <p className="muted">
          Every row is checked first. Nothing is applied unless every row is valid: a file with one bad row changes
          nothing.{limits && " Columns: SKU, Max Listed, End When, Percentage (an empty cell = the channel's default)."}
        </p>
        <label>CSV file <input type="file" accept=".csv,text/csv" onChange={(event) => void choose(event)} /></label>
        {file && !limits && (
          <fieldset>
            <legend>Columns of {file.name}</legend>
            <div className="field-grid">
              {IMPORT_FIELDS.map(([field, label]) => (
                <div key={field} className="field">
                  <label htmlFor={`column-${field}`}>{label}{field === "channel_sku" ? " (required)" : ""}</label>
                  <select id={`column-${field}`} value={columns[field] ?? ""} onChange={(event) => {
                    setColumns({ ...columns, [field]: event.target.value });
                    setReport(null);
                  }}>
                    <option value="">{field === "channel_sku" ? "Choose a column" : "Not imported"}</option>
                    {file.header.map((name) => <option key={name} value={name}>{name}</option>)}
                  </select>
                </div>
              ))}
            </div>
          </fieldset>
        )}
        {error && <p className="error" role="alert">{error}</p>}
        {report && <ImportPreview report={report} />}
      </div>
      <div className="modal-actions">
        <button type="button" onClick={onClose}>{report?.applied ? "Close" : "Cancel"}</button>
        <button type="button" disabled={!file || busy || (!limits && !columns.channel_sku)} onClick={() => void send(true)}>
          Check file (dry run)
        </button>
        <button type="button" className="primary" disabled={!report?.valid || report.applied || busy}
                onClick={() => void send(false)}>Apply all</button>
      </div>
    </Modal>
  );
}

function ImportPreview({ report }: { report: ImportReport }) {
  const changes = Object.entries(report.changes);
  return (
    <section className="preview" aria-label="Import preview">
      {report.applied
        ? <p className="message" role="status">Applied: {report.rows} rows.</p>
        : report.valid
          ? <p className="message" role="status">All {report.rows} rows are valid. Nothing has been applied yet.</p>
          : <p className="error" role="alert">{report.error_count} problem{report.error_count === 1 ? "" : "s"} in the
              file: nothing will be applied until it is fixed.</p>}
      {changes.length > 0 && report.valid && (
        <p>{report.applied ? "Changed" : "Would change"}: {changes.map(([what, n]) => `${what.replaceAll("_", " ")} ${n}`).join(" · ")}</p>
      )}
      {report.errors.length > 0 && (
        <table className="table">
          <caption className="visually-hidden">Row errors</caption>
          <thead><tr><th scope="col">Row</th><th scope="col">Field</th><th scope="col">Why</th><th scope="col">Value</th></tr></thead>
          <tbody>
            {report.errors.map((error, index) => (
              <tr key={index}><td className="num">{error.row}</td><td>{error.column ?? error.field ?? ""}</td>
                <td>{error.reason}</td><td className="mono">{error.value ?? ""}</td></tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function UploadDialog({ api, channel, track, onClose }: { api: Api; channel: Channel; track: Track; onClose: () => void }) {
  const [progress, setProgress] = useState<number | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [over, setOver] = useState(false);

  async function upload(file: File) {
    setError(null);
    try {
      const target = await api.uploadUrl(channel.channel_id, file.name);
      if (file.size > target.max_bytes) throw new Error(`The file is larger than ${target.max_bytes} bytes.`);
      setStatus(`Uploading ${file.name}…`);
      await put(target.url, file, setProgress);
      setStatus("Uploaded: waiting for the load to start…");
      track(`Catalogue ${file.name}`, await loadJob(api, channel.channel_id, target.key), channel.channel_id);
      onClose();
    } catch (failure) {
      setError((failure as Error).message);
      setStatus(null);
    }
  }

  function dropped(event: DragEvent) {
    event.preventDefault();
    setOver(false);
    const file = event.dataTransfer.files[0];
    if (file) void upload(file);
  }

  return (
    <Modal title="Load Catalogue" onClose={onClose}>
      <div className="modal-body">
        <p className="muted">The channel's listings file (a report or extract as the channel gives it, CSV or
          tab-separated, zipped or not). Its listings replace the ones shown once it has loaded.</p>
        <div className={`drop${over ? " over" : ""}`} onDragOver={(event) => { event.preventDefault(); setOver(true); }}
             onDragLeave={() => setOver(false)} onDrop={dropped}>
          <p>Drop the file here, or</p>
          <label className="button">Choose a file
            <input type="file" className="visually-hidden"
                   onChange={(event) => { const file = event.target.files?.[0]; if (file) void upload(file); }} />
          </label>
        </div>
        {status && <p role="status">{status}</p>}
        {progress !== null && <progress max={1} value={progress} aria-label="Upload progress" />}
        {error && <p className="error" role="alert">{error}</p>}
      </div>
    </Modal>
  );
}

/** PUT to the presigned URL, with the upload's progress (fetch reports none). */
function put(url: string, file: File, onProgress: (fraction: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = new XMLHttpRequest();
    request.open("PUT", url);
    request.upload.onprogress = (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); };
    request.onload = () => (request.status < 300 ? resolve() : reject(new Error(`The upload was refused (${request.status}).`)));
    request.onerror = () => reject(new Error("The upload could not reach the file store."));
    request.send(file);
  });
}

const LOAD_START_POLLS = 60;

/** The job loading the uploaded file, once the catalogue status names it. */
async function loadJob(api: Api, channelId: string, key: string): Promise<Job> {
  for (let attempt = 0; attempt < LOAD_START_POLLS; attempt++) {
    const { last_load: load } = await api.catalogue(channelId);
    if (load.file === key && load.job_id) return api.job(load.job_id);
    await new Promise((resolve) => window.setTimeout(resolve, 1000));
  }
  throw new Error("The file was uploaded, but its load has not started within a minute: see the channel's events.");
}
