import { type FormEvent, type ReactNode, useEffect, useMemo, useState } from "react";
import type { Api } from "./api";
import { fieldErrors, messageOf } from "./common";
import type { Channel, FieldMapping, MetricSetting, PimOption, PimProfile, ProfileSettings } from "./types";

const COUNT_PAUSE_MS = 400;
const LENGTH_UNITS = ["MILLIMETER", "CENTIMETER", "METER", "INCH"];
const WEIGHT_UNITS = ["GRAM", "KILOGRAM", "OUNCE", "POUND"];
const TEXT_TYPES = new Set(["pim_catalog_text", "pim_catalog_textarea"]);

const EMPTY: ProfileSettings = {
  scope: "", locale: "", categories: [], price_mappings: [], title_mappings: [], description_mappings: [],
  product_settings: {
    product_creation: true, upload_images: false, main_image_attribute: null, barcode_attribute: null,
    width: { attribute: null, unit: "CENTIMETER" }, height: { attribute: null, unit: "CENTIMETER" },
    depth: { attribute: null, unit: "CENTIMETER" }, weight: { attribute: null, unit: "KILOGRAM" },
  },
  extended_properties: { map_all_attributes: false, prefix: "" },
};

interface Catalog { scopes: PimOption[]; categories: PimOption[]; attributes: PimOption[] }

/** A sync profile: what to read from Akeneo (scope, locale, categories) and how it lands on our items. */
export function PimProfileForm({ api, profile, onSaved }:
    { api: Api; profile: PimProfile | null; onSaved: (profile: PimProfile) => void }) {
  const [name, setName] = useState(profile?.name ?? "");
  const [enabled, setEnabled] = useState(profile?.enabled ?? true);
  const [settings, setSettings] = useState<ProfileSettings>(profile?.settings ?? EMPTY);
  const [catalog, setCatalog] = useState<Catalog | null>(null);
  const [channels, setChannels] = useState<Channel[]>([]);
  const [count, setCount] = useState<number | null>(null);
  const [countError, setCountError] = useState<string | null>(null);
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => {
    Promise.all([api.pimOptions("channels"), api.pimOptions("categories"), api.pimOptions("attributes")])
      .then(([scopes, categories, attributes]) => setCatalog(
        { scopes: scopes.options, categories: categories.options, attributes: attributes.options }),
      (failure: unknown) => setError(`Akeneo's lists could not be read: ${messageOf(failure)}`));
    api.channels().then((found) => setChannels(found.channels), () => setChannels([]));
  }, [api]);

  // The live product counter: asked again a moment after the filters change.
  const filters = JSON.stringify([settings.scope, settings.locale, settings.categories]);
  useEffect(() => {
    if (!settings.scope || !settings.locale) return;
    const timer = window.setTimeout(() => {
      api.countPimProducts(settings).then((found) => { setCount(found.count); setCountError(null); },
                                          (failure: unknown) => { setCount(null); setCountError(messageOf(failure)); });
    }, COUNT_PAUSE_MS);
    return () => window.clearTimeout(timer);
  }, [api, filters]);

  const set = (patch: Partial<ProfileSettings>) => setSettings((current) => ({ ...current, ...patch }));
  const product = (patch: Partial<ProfileSettings["product_settings"]>) =>
    set({ product_settings: { ...settings.product_settings, ...patch } });
  const attributes = catalog?.attributes ?? [];
  const ofType = (test: (option: PimOption) => boolean) => attributes.filter(test);
  const scope = catalog?.scopes.find((entry) => entry.code === settings.scope);

  async function save(event: FormEvent) {
    event.preventDefault();
    setErrors({});
    setError(null);
    setMessage(null);
    try {
      const saved = await api.savePimProfile(profile?.profile_id ?? null, { ...settings, name: name.trim(), enabled });
      setMessage("Profile saved.");
      onSaved(saved);
    } catch (failure) {
      setErrors(fieldErrors(failure));
      setError(messageOf(failure));
    }
  }

  return (
    <form onSubmit={(event) => void save(event)} aria-label="Sync profile" className="profile-form" noValidate>
      {error && <p role="alert" className="error">{error}</p>}
      <div className="field-grid">
        <Labelled label="Profile name" error={errors.name}>
          {(id) => <input id={id} value={name} onChange={(event) => setName(event.target.value)} />}
        </Labelled>
        <label className="field"><span>Enabled (periodic runs)</span>
          <input type="checkbox" checked={enabled} onChange={(event) => setEnabled(event.target.checked)} /></label>
        <Labelled label="Scope (Akeneo channel)" error={errors.scope}>
          {(id) => (
            <select id={id} value={settings.scope} onChange={(event) => set({ scope: event.target.value, locale: "" })}>
              <option value="">Choose…</option>
              {(catalog?.scopes ?? []).map((entry) => <option key={entry.code} value={entry.code}>{entry.label}</option>)}
            </select>
          )}
        </Labelled>
        <Labelled label="Locale" error={errors.locale}>
          {(id) => (
            <select id={id} value={settings.locale} onChange={(event) => set({ locale: event.target.value })}>
              <option value="">Choose…</option>
              {(scope?.locales ?? []).map((code) => <option key={code} value={code}>{code}</option>)}
            </select>
          )}
        </Labelled>
      </div>
      <fieldset>
        <legend>Categories (a category includes its children; none = every product)</legend>
        <CategoryTree categories={catalog?.categories ?? []} chosen={settings.categories}
                      onChange={(categories) => set({ categories })} />
        <p className="counter" role="status" aria-label="Product counter">
          {countError ? <span className="error">{countError}</span>
            : count === null ? "Choose a scope and a locale to count the products."
            : `${count} product${count === 1 ? "" : "s"} selected`}
        </p>
      </fieldset>
      <MappingRows title="Price mappings" kind="price" rows={settings.price_mappings} channels={channels}
                   attributes={ofType((a) => a.type === "pim_catalog_price_collection")}
                   targets={[["retail_price", "Retail price"], ["purchase_price", "Purchase price"], ["channel", "A channel's price"]]}
                   currencies={scope?.currencies ?? ["EUR"]} onChange={(rows) => set({ price_mappings: rows })} />
      <MappingRows title="Title mappings" kind="title" rows={settings.title_mappings} channels={channels}
                   attributes={ofType((a) => TEXT_TYPES.has(a.type ?? ""))}
                   targets={[["item_title", "Item title"], ["channel", "A channel's title"]]}
                   onChange={(rows) => set({ title_mappings: rows })} />
      <MappingRows title="Description mappings" kind="description" rows={settings.description_mappings} channels={channels}
                   attributes={ofType((a) => TEXT_TYPES.has(a.type ?? ""))}
                   targets={[["metadata", "Item description"], ["channel", "A channel's description"]]}
                   onChange={(rows) => set({ description_mappings: rows })} />
      <fieldset>
        <legend>Products</legend>
        <div className="field-grid">
          <label className="field"><span>Create products missing here</span>
            <input type="checkbox" checked={settings.product_settings.product_creation}
                   onChange={(event) => product({ product_creation: event.target.checked })} /></label>
          <label className="field"><span>Upload images</span>
            <input type="checkbox" checked={settings.product_settings.upload_images}
                   onChange={(event) => product({ upload_images: event.target.checked })} /></label>
          <AttributeSelect label="Main image" value={settings.product_settings.main_image_attribute}
                           options={ofType((a) => a.type === "pim_catalog_image")}
                           onChange={(value) => product({ main_image_attribute: value })} />
          <AttributeSelect label="Barcode" value={settings.product_settings.barcode_attribute}
                           options={ofType((a) => TEXT_TYPES.has(a.type ?? "") || a.type === "pim_catalog_identifier")}
                           onChange={(value) => product({ barcode_attribute: value })} />
          {(["width", "height", "depth", "weight"] as const).map((measure) => (
            <MetricInput key={measure} label={measure[0]!.toUpperCase() + measure.slice(1)} value={settings.product_settings[measure]}
                         units={measure === "weight" ? WEIGHT_UNITS : LENGTH_UNITS}
                         options={ofType((a) => a.type === "pim_catalog_metric"
                           && (a.metric_family ?? "").toLowerCase() === (measure === "weight" ? "weight" : "length"))}
                         onChange={(value) => product({ [measure]: value })} />
          ))}
        </div>
      </fieldset>
      <fieldset>
        <legend>Extended properties</legend>
        <div className="field-grid">
          <label className="field"><span>Every attribute as an extended property</span>
            <input type="checkbox" checked={settings.extended_properties.map_all_attributes}
                   onChange={(event) => set({ extended_properties: { ...settings.extended_properties, map_all_attributes: event.target.checked } })} /></label>
          <Labelled label="Prefix" error={errors["extended_properties.prefix"]}>
            {(id) => <input id={id} value={settings.extended_properties.prefix} placeholder="e.g. akeneo_ (may be blank)"
                            onChange={(event) => set({ extended_properties: { ...settings.extended_properties, prefix: event.target.value } })} />}
          </Labelled>
        </div>
      </fieldset>
      <div className="row-actions">
        <button type="submit" className="primary">{profile ? "Save profile" : "Create profile"}</button>
        {message && <span role="status" className="message">{message}</span>}
      </div>
    </form>
  );
}

function Labelled({ label, error, children }: { label: string; error?: string; children: (id: string) => ReactNode }) {
  const id = `pim-field-${label.toLowerCase().replaceAll(/[^a-z]+/g, "-")}`;
  return (
    <div className="field-block">
      <label htmlFor={id}>{label}</label>
      {children(id)}
      {error && <span className="small error" role="alert">{error}</span>}
    </div>
  );
}

function CategoryTree({ categories, chosen, onChange }:
    { categories: PimOption[]; chosen: string[]; onChange: (categories: string[]) => void }) {
  const children = useMemo(() => {
    const found = new Map<string | null, PimOption[]>();
    for (const category of categories) {
      const parent = category.parent ?? null;
      found.set(parent, [...(found.get(parent) ?? []), category]);
    }
    return found;
  }, [categories]);
  const branch = (parent: string | null): ReactNode => {
    const below = children.get(parent);
    if (!below?.length) return null;
    return (
      <ul className={parent === null ? "tree" : "tree-branch"}>
        {below.map((category) => (
          <li key={category.code}>
            <label><input type="checkbox" checked={chosen.includes(category.code)}
                          onChange={(event) => onChange(event.target.checked
                            ? [...chosen, category.code] : chosen.filter((code) => code !== category.code))} />
              {category.label} <span className="small muted mono">{category.code}</span></label>
            {branch(category.code)}
          </li>
        ))}
      </ul>
    );
  };
  if (categories.length === 0) return <p className="small muted">No category read from Akeneo yet.</p>;
  return <>{branch(null)}</>;
}

function AttributeSelect({ label, value, options, onChange }:
    { label: string; value: string | null; options: PimOption[]; onChange: (value: string | null) => void }) {
  return (
    <Labelled label={label}>
      {(id) => (
        <select id={id} value={value ?? ""} onChange={(event) => onChange(event.target.value || null)}>
          <option value="">Not sent</option>
          {options.map((option) => <option key={option.code} value={option.code}>{option.label}</option>)}
        </select>
      )}
    </Labelled>
  );
}

function MetricInput({ label, value, units, options, onChange }:
    { label: string; value: MetricSetting; units: string[]; options: PimOption[]; onChange: (value: MetricSetting) => void }) {
  return (
    <div className="field-block">
      <AttributeSelect label={`${label} attribute`} value={value.attribute} options={options}
                       onChange={(attribute) => onChange({ ...value, attribute })} />
      <label className="small">{label} unit
        <select value={value.unit ?? units[1]} onChange={(event) => onChange({ ...value, unit: event.target.value })}>
          {units.map((unit) => <option key={unit} value={unit}>{unit}</option>)}
        </select>
      </label>
    </div>
  );
}

function MappingRows({ title, kind, rows, attributes, targets, channels, currencies, onChange }:
    { title: string; kind: string; rows: FieldMapping[]; attributes: PimOption[]; targets: [string, string][];
      channels: Channel[]; currencies?: string[]; onChange: (rows: FieldMapping[]) => void }) {
  const change = (index: number, patch: Partial<FieldMapping>) =>
    onChange(rows.map((row, at) => (at === index ? { ...row, ...patch } : row)));
  return (
    <fieldset>
      <legend>{title}</legend>
      {rows.map((row, index) => (
        <div key={index} className="mapping-row">
          <label>Attribute
            <select value={row.attribute} onChange={(event) => change(index, { attribute: event.target.value })}>
              <option value="">Choose…</option>
              {attributes.map((option) => <option key={option.code} value={option.code}>{option.label}</option>)}
            </select>
          </label>
          <label>To
            <select value={row.target} onChange={(event) => change(index, { target: event.target.value,
                                                                             channel_id: event.target.value === "channel" ? row.channel_id : null })}>
              {targets.map(([value, text]) => <option key={value} value={value}>{text}</option>)}
            </select>
          </label>
          {row.target === "channel" && (
            <label>Channel
              <select value={row.channel_id ?? ""} onChange={(event) => change(index, { channel_id: event.target.value || null })}>
                <option value="">Choose…</option>
                {channels.map((channel) => <option key={channel.channel_id} value={channel.channel_id}>{channel.name}</option>)}
              </select>
            </label>
          )}
          {currencies && (
            <label>Currency
              <select value={row.currency ?? ""} onChange={(event) => change(index, { currency: event.target.value })}>
                {currencies.map((currency) => <option key={currency} value={currency}>{currency}</option>)}
              </select>
            </label>
          )}
          <button type="button" onClick={() => onChange(rows.filter((_, at) => at !== index))}
                  aria-label={`Remove ${kind} mapping ${index + 1}`}>Remove</button>
        </div>
      ))}
      <button type="button" onClick={() => onChange([...rows, { attribute: "", target: targets[0]![0], channel_id: null,
                                                               ...(currencies ? { currency: currencies[0] ?? "EUR" } : {}) }])}>
        Add {kind} mapping</button>
    </fieldset>
  );
}
