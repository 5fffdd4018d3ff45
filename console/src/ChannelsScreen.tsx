import { type FormEvent, type ReactNode, useCallback, useEffect, useId, useState } from "react";
import type { Api, ChannelWrite } from "./api";
import { CHANNEL_TYPES, LIMITS, type SettingField, specOf } from "./channelTypes";
import { fieldErrors, locationName, messageOf, useLocations } from "./common";
import { when } from "./format";
import { Modal } from "./Modal";
import type { ChannelDetail, Location } from "./types";

/** Every channel: its state, where it sells from, its credentials' state (never their values); add and edit. */
export function ChannelsScreen({ api, onChanged }: { api: Api; onChanged: () => void }) {
  const [channels, setChannels] = useState<ChannelDetail[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [editing, setEditing] = useState<ChannelDetail | "new" | null>(null);
  const locations = useLocations(api);

  const load = useCallback(() => {
    api.channelList().then((found) => { setChannels(found.channels); setError(null); },
                           (failure: unknown) => setError(messageOf(failure)));
  }, [api]);
  useEffect(load, [load]);

  async function toggle(channel: ChannelDetail) {
    try {
      const changed = await api.setEnabled(channel.channel_id, !channel.enabled);
      setMessage(`${changed.name} ${changed.enabled ? "enabled" : "disabled"}.`);
      load();
      onChanged();
    } catch (failure) {
      setError(messageOf(failure));
    }
  }

  function saved(channel: ChannelDetail, created: boolean) {
    setEditing(null);
    setMessage(`${channel.name} ${created ? "added" : "saved"}.`);
    load();
    onChanged();
  }

  return (
    <section className="screen" aria-labelledby="channels-title">
      <div className="screen-head">
        <h1 id="channels-title">Channels</h1>
        <button type="button" className="primary" onClick={() => setEditing("new")}>Add channel…</button>
      </div>
      {error && <p role="alert" className="error">{error}</p>}
      {message && <p role="status" className="message">{message}</p>}
      {channels && (
        <table className="table" aria-label="Channels">
          <thead><tr><th scope="col">Channel</th><th scope="col">Type</th><th scope="col">State</th><th scope="col">Sells from</th>
            <th scope="col">Credentials</th><th scope="col">Default limits</th><th scope="col"><span className="visually-hidden">Actions</span></th></tr></thead>
          <tbody>
            {channels.map((channel) => (
              <tr key={channel.channel_id} data-channel={channel.channel_id}>
                <th scope="row">{channel.name}</th>
                <td>{specOf(channel.type).label}</td>
                <td>{channel.enabled ? <span className="flag ok">enabled</span> : <span className="flag">disabled</span>}
                  {channel.auth_failure && (
                    <span className="flag bad" title={channel.auth_failure.message}>reconnect: {channel.auth_failure.action}</span>
                  )}</td>
                <td>{channel.location_ids.map((id) => locationName(locations, id)).join(", ")}</td>
                <td>{channel.has_credentials ? `stored ${when(channel.credentials_updated_at)}` : "none"}</td>
                <td className="small">{limitsText(channel)}</td>
                <td className="row-actions">
                  <button type="button" onClick={() => setEditing(channel)} aria-label={`Edit ${channel.name}`}>Edit…</button>
                  <button type="button" onClick={() => void toggle(channel)} aria-label={`${channel.enabled ? "Disable" : "Enable"} ${channel.name}`}>
                    {channel.enabled ? "Disable" : "Enable"}</button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {editing && <ChannelForm api={api} channel={editing === "new" ? null : editing} locations={locations}
                               onClose={() => setEditing(null)} onSaved={saved} />}
    </section>
  );
}

function mappingOf(channel: ChannelDetail | null): Record<string, unknown> {
  const mapping = channel?.settings.mapping;
  return typeof mapping === "object" && mapping !== null ? mapping as Record<string, unknown> : {};
}

function defaultLimits(channel: ChannelDetail | null): Record<string, unknown> {
  const limits = mappingOf(channel).default_limits;
  return typeof limits === "object" && limits !== null ? limits as Record<string, unknown> : {};
}

function limitsText(channel: ChannelDetail): string {
  const limits = defaultLimits(channel);
  const set = LIMITS.filter((entry) => limits[entry.name] !== null && limits[entry.name] !== undefined)
    .map((entry) => `${entry.label} ${String(limits[entry.name])}`);
  return set.length ? set.join(", ") : "none";
}

type Values = Record<string, string | boolean>;

function initialSettings(channel: ChannelDetail | null, fields: SettingField[]): Values {
  const values: Values = {};
  for (const field of fields) {
    const value = channel?.settings[field.name];
    // A new channel starts from the type's defaults as the API has them: a choice's first, else empty.
    const empty = typeof field.kind === "object" ? field.kind.choices[0] ?? "" : "";
    values[field.name] = field.kind === "boolean" ? value === true
      : Array.isArray(value) ? value.join(", ") : value === null || value === undefined ? empty : String(value);
  }
  return values;
}

/** A form value as the API takes it; a number it cannot read goes as typed, so the API names the field. */
function settingValue(field: SettingField, value: string | boolean): unknown {
  if (typeof value === "boolean") return value;
  const text = value.trim();
  if (field.kind === "list") {
    const parts = text.split(",").map((part) => part.trim()).filter(Boolean);
    return parts.length ? parts : undefined;  // none given: the type's default
  }
  if (field.kind === "url") return text || null;
  if (field.kind === "number") return text === "" ? undefined : Number.isFinite(Number(text)) ? Number(text) : text;
  return text;
}

function limitValue(text: string): number | string | null {
  const trimmed = text.trim();
  if (trimmed === "") return null;
  return Number.isFinite(Number(trimmed)) ? Number(trimmed) : trimmed;
}

function ChannelForm({ api, channel, locations, onClose, onSaved }:
    { api: Api; channel: ChannelDetail | null; locations: Location[]; onClose: () => void;
      onSaved: (channel: ChannelDetail, created: boolean) => void }) {
  const [type, setType] = useState(channel?.type ?? "generic");
  const spec = specOf(type);
  const [name, setName] = useState(channel?.name ?? "");
  const [enabled, setEnabled] = useState(channel?.enabled ?? true);
  const [settings, setSettings] = useState<Values>(() => initialSettings(channel, spec.settings));
  const [limits, setLimits] = useState<Record<string, string>>(() => Object.fromEntries(LIMITS.map((entry) => {
    const value = defaultLimits(channel)[entry.name];
    return [entry.name, value === null || value === undefined ? "" : String(value)];
  })));
  const [autoLinkBy, setAutoLinkBy] = useState(String(mappingOf(channel).auto_link_by ?? "sku"));
  const [credentials, setCredentials] = useState<Record<string, string>>({});
  const [sellsFrom, setSellsFrom] = useState<string[]>(channel?.location_ids ?? []);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  function changeType(next: string) {
    setType(next);
    setSettings(initialSettings(null, specOf(next).settings));
    setCredentials({});
  }

  async function submit(event: FormEvent) {
    event.preventDefault();
    const typed: Record<string, unknown> = {};
    for (const field of spec.settings) {
      const value = settingValue(field, settings[field.name] ?? "");
      if (value !== undefined) typed[field.name] = value;
    }
    typed.mapping = { ...mappingOf(channel), auto_link_by: autoLinkBy,
                      default_limits: Object.fromEntries(LIMITS.map((entry) => [entry.name, limitValue(limits[entry.name] ?? "")])) };
    const given = Object.fromEntries(Object.entries(credentials).filter(([, value]) => value !== ""));
    const body: ChannelWrite = {
      name: name.trim(), enabled, settings: typed,
      ...(sellsFrom.length ? { location_ids: sellsFrom } : {}),
      ...(Object.keys(given).length ? { credentials: given } : {}),
    };
    setBusy(true);
    setErrors({});
    setError(null);
    try {
      const saved = channel ? await api.updateChannel(channel.channel_id, body) : await api.createChannel({ ...body, type });
      onSaved(saved, channel === null);
    } catch (failure) {
      setErrors(fieldErrors(failure));
      setError(messageOf(failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Modal title={channel ? `Edit ${channel.name}` : "Add a channel"} onClose={onClose} wide>
      <form onSubmit={(event) => void submit(event)} noValidate>
        <div className="modal-body">
          {error && <p role="alert" className="error">{error}</p>}
          <div className="field-grid">
            <Field label="Name" error={errors.name}>
              {(id, described) => <input id={id} value={name} onChange={(event) => setName(event.target.value)} required {...described} />}
            </Field>
            <Field label="Type" error={errors.type}>
              {(id, described) => (
                <select id={id} value={type} disabled={channel !== null} onChange={(event) => changeType(event.target.value)} {...described}>
                  {CHANNEL_TYPES.map((entry) => <option key={entry.type} value={entry.type}>{entry.label}</option>)}
                </select>
              )}
            </Field>
            <label className="field"><span>Enabled</span>
              <input type="checkbox" checked={enabled} onChange={(event) => setEnabled(event.target.checked)} /></label>
          </div>
          <fieldset>
            <legend>{spec.label} settings</legend>
            <div className="field-grid">
              {spec.settings.map((field) => (
                <SettingInput key={`${type}-${field.name}`} field={field} value={settings[field.name] ?? ""}
                              error={errors[`settings.${field.name}`]}
                              onChange={(value) => setSettings((current) => ({ ...current, [field.name]: value }))} />
              ))}
            </div>
          </fieldset>
          <fieldset>
            <legend>Credentials (write-only)</legend>
            <p className="small muted">
              {channel?.has_credentials
                ? `Stored ${when(channel.credentials_updated_at)}. They are never shown: enter new ones only to replace them.`
                : "Entered once and kept in the secret store: the console never shows them again."}
              {spec.credentialHint ? ` ${spec.credentialHint}` : ""}
            </p>
            {errors.credentials && <p className="error small" role="alert">{errors.credentials}</p>}
            <div className="field-grid">
              {spec.credentials.map((field) => (
                <Field key={`${type}-${field}`} label={field}>
                  {(id, described) => <input id={id} type="password" autoComplete="new-password" value={credentials[field] ?? ""}
                                             onChange={(event) => setCredentials((current) => ({ ...current, [field]: event.target.value }))}
                                             {...described} />}
                </Field>
              ))}
            </div>
          </fieldset>
          <fieldset>
            <legend>Sells from</legend>
            {errors.location_ids && <p className="error small" role="alert">{errors.location_ids}</p>}
            {locations.map((place) => (
              <label key={place.location_id} className="check">
                <input type="checkbox" checked={sellsFrom.includes(place.location_id)}
                       onChange={(event) => setSellsFrom((current) => event.target.checked
                         ? [...current, place.location_id] : current.filter((id) => id !== place.location_id))} />
                {place.name}{place.is_default ? " (default)" : ""}
              </label>
            ))}
            {sellsFrom.length === 0 && <p className="small muted">None chosen: the default location.</p>}
          </fieldset>
          <fieldset>
            <legend>Mapping and default limits</legend>
            <div className="field-grid">
              <Field label="Auto-link by" error={errors["settings.mapping.auto_link_by"]}>
                {(id, described) => (
                  <select id={id} value={autoLinkBy} onChange={(event) => setAutoLinkBy(event.target.value)} {...described}>
                    <option value="sku">SKU</option><option value="barcode">SKU, then barcode</option><option value="asin">SKU, then ASIN</option>
                  </select>
                )}
              </Field>
              {LIMITS.map((entry) => (
                <Field key={entry.name} label={`Default ${entry.label}`} hint={entry.hint}
                       error={errors[`settings.mapping.default_limits.${entry.name}`]}>
                  {(id, described) => <input id={id} inputMode="numeric" className="narrow" value={limits[entry.name] ?? ""}
                                             onChange={(event) => setLimits((current) => ({ ...current, [entry.name]: event.target.value }))}
                                             {...described} />}
                </Field>
              ))}
            </div>
          </fieldset>
        </div>
        <div className="modal-actions">
          <button type="button" onClick={onClose}>Cancel</button>
          <button type="submit" className="primary" disabled={busy}>{channel ? "Save" : "Add channel"}</button>
        </div>
      </form>
    </Modal>
  );
}

interface Described { "aria-describedby"?: string; "aria-invalid"?: boolean }

/** A labelled field with its hint and the API's error for it right below, tied to the input for screen readers. */
function Field({ label, hint, error, children }:
    { label: string; hint?: string; error?: string; children: (id: string, described: Described) => ReactNode }) {
  const id = useId();
  const described: Described = error ? { "aria-describedby": `${id}-error`, "aria-invalid": true }
    : hint ? { "aria-describedby": `${id}-hint` } : {};
  return (
    <div className="field-block">
      <label htmlFor={id}>{label}</label>
      {children(id, described)}
      {hint && !error && <span id={`${id}-hint`} className="small muted">{hint}</span>}
      {error && <span id={`${id}-error`} className="small error">{error}</span>}
    </div>
  );
}

function SettingInput({ field, value, error, onChange }:
    { field: SettingField; value: string | boolean; error: string | undefined; onChange: (value: string | boolean) => void }) {
  return (
    <Field label={field.label} hint={field.hint} error={error}>
      {(id, described) => {
        if (field.kind === "boolean") {
          return <input id={id} type="checkbox" checked={value === true} onChange={(event) => onChange(event.target.checked)} {...described} />;
        }
        if (typeof field.kind === "object") {
          return (
            <select id={id} value={String(value)} onChange={(event) => onChange(event.target.value)} {...described}>
              {field.kind.choices.map((choice) => <option key={choice} value={choice}>{choice}</option>)}
            </select>
          );
        }
        return <input id={id} type="text" inputMode={field.kind === "number" ? "numeric" : field.kind === "url" ? "url" : undefined}
                      value={String(value)} onChange={(event) => onChange(event.target.value)} {...described} />;
      }}
    </Field>
  );
}
