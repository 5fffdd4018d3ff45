import { useCallback, useEffect, useMemo, useState } from "react";
import { Api } from "./api";
import { freshAccessToken, signOut, storedSession } from "./auth";
import { type ConsoleConfig, loadConfig } from "./config";
import { AkeneoScreen } from "./AkeneoScreen";
import { ChannelsScreen } from "./ChannelsScreen";
import { HomeScreen } from "./HomeScreen";
import { InventoryScreen } from "./InventoryScreen";
import { JobsScreen } from "./JobsScreen";
import { MappingScreen } from "./MappingScreen";
import { OrdersScreen } from "./OrdersScreen";
import { SignInScreen } from "./SignInScreen";
import type { Channel } from "./types";

export function App() {
  const [config, setConfig] = useState<ConsoleConfig | null>(null);
  const [configError, setConfigError] = useState<string | null>(null);
  const [username, setUsername] = useState<string | null>(() => storedSession()?.username ?? null);
  const [notice, setNotice] = useState<string | null>(null);

  useEffect(() => {
    loadConfig().then(setConfig, (error: Error) => setConfigError(error.message));
  }, []);

  const endSession = useCallback((message: string | null) => {
    signOut();
    setUsername(null);
    setNotice(message);
  }, []);

  const api = useMemo(() => config && new Api(
    config.apiBase, () => freshAccessToken(config.signIn),
    () => endSession("Your session has ended: sign in again."),
  ), [config, endSession]);

  if (configError) return <main className="centred"><p role="alert" className="error">{configError}</p></main>;
  if (!config || !api) return <main className="centred"><p>Loading…</p></main>;
  if (!username) {
    return <SignInScreen config={config.signIn} notice={notice}
                         onSignedIn={(name) => { setNotice(null); setUsername(name); }} />;
  }
  return <Console api={api} username={username} onSignOut={() => endSession(null)} />;
}

const SCREENS = [
  { id: "home", label: "Home" },
  { id: "mapping", label: "Mapping" },
  { id: "inventory", label: "Inventory" },
  { id: "orders", label: "Orders" },
  { id: "channels", label: "Channels" },
  { id: "akeneo", label: "Akeneo" },
  { id: "jobs", label: "Jobs" },
] as const;
type Screen = (typeof SCREENS)[number]["id"];

function screenInUrl(): Screen {
  const search = new URLSearchParams(location.search);
  const wanted = search.get("screen");
  // A link naming only a channel (`/?channel=<id>`, as the console's first part made them) opens its mapping.
  return SCREENS.find((screen) => screen.id === wanted)?.id ?? (search.has("channel") ? "mapping" : "home");
}

/** The screen lives in the URL (?screen=...), so reload and back bring the same screen. */
function useScreen(): [Screen, (screen: Screen, extra?: Record<string, string>) => void] {
  const [screen, setScreen] = useState<Screen>(screenInUrl);
  useEffect(() => {
    const follow = () => setScreen(screenInUrl());
    window.addEventListener("popstate", follow);
    return () => window.removeEventListener("popstate", follow);
  }, []);
  const go = useCallback((next: Screen, extra: Record<string, string> = {}) => {
    // A screen's own parameters (an open item, an order's filters) stay behind; the chosen channel goes along.
    const url = new URL(location.pathname, location.href);
    const channel = new URLSearchParams(location.search).get("channel");
    if (channel) url.searchParams.set("channel", channel);
    url.searchParams.set("screen", next);
    for (const [name, value] of Object.entries(extra)) url.searchParams.set(name, value);
    history.pushState(null, "", url);
    setScreen(next);
  }, []);
  return [screen, go];
}

function Console({ api, username, onSignOut }: { api: Api; username: string; onSignOut: () => void }) {
  const [screen, go] = useScreen();
  const [channels, setChannels] = useState<Channel[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [channelId, setChannelId] = useState<string>(() => new URLSearchParams(location.search).get("channel") ?? "");

  const loadChannels = useCallback(() => {
    api.channels().then(({ channels: found }) => {
      setChannels(found);
      setChannelId((current) => current && found.some((c) => c.channel_id === current)
        ? current : found[0]?.channel_id ?? "");
    }, (failure: Error) => setError(failure.message));
  }, [api]);

  useEffect(loadChannels, [loadChannels]);

  useEffect(() => {
    if (!channelId || screen !== "mapping") return;
    const url = new URL(location.href);
    url.searchParams.set("channel", channelId);
    history.replaceState(null, "", url);
  }, [channelId, screen]);

  const channel = channels?.find((c) => c.channel_id === channelId) ?? null;
  return (
    <>
      <header className="topbar">
        <span className="brand">stocksync</span>
        <nav aria-label="Screens" className="screens">
          {SCREENS.map((entry) => (
            <a key={entry.id} href={`?screen=${entry.id}`} aria-current={entry.id === screen ? "page" : undefined}
               onClick={(event) => { event.preventDefault(); go(entry.id); }}>{entry.label}</a>
          ))}
        </nav>
        {screen === "mapping" && (
          <>
            <label className="channel-picker" htmlFor="channel-picker">Channel</label>
            <select id="channel-picker" value={channelId} onChange={(event) => setChannelId(event.target.value)}
                    disabled={!channels}>
              {(channels ?? []).map((c) => (
                <option key={c.channel_id} value={c.channel_id}>{c.name} ({c.type}){c.enabled ? "" : ", disabled"}</option>
              ))}
            </select>
          </>
        )}
        <span className="spacer" />
        <span className="who">Signed in as {username}</span>
        <button type="button" onClick={onSignOut}>Sign out</button>
      </header>
      <main>
        {error && <p role="alert" className="error">{error}</p>}
        {screen === "mapping" && channels && channels.length === 0 && <p>No channel yet: add one on the Channels screen.</p>}
        {screen === "mapping" && channel && <MappingScreen key={channel.channel_id} api={api} channel={channel} />}
        {screen === "home" && <HomeScreen api={api} onOpenOrder={(orderId) => go("orders", { order: orderId })} />}
        {screen === "inventory" && <InventoryScreen api={api} />}
        {screen === "orders" && <OrdersScreen api={api} />}
        {screen === "channels" && <ChannelsScreen api={api} onChanged={loadChannels} />}
        {screen === "akeneo" && <AkeneoScreen api={api} />}
        {screen === "jobs" && <JobsScreen api={api} />}
      </main>
    </>
  );
}
