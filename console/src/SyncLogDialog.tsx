import { useEffect, useState } from "react";
import type { Api } from "./api";
import { when } from "./format";
import { Modal } from "./Modal";
import type { Listing, SyncLogEntry } from "./types";

/** A listing's submissions to the channel, newest first (the last 90 days). */
export function SyncLogDialog({ api, channelId, listing, onClose }:
    { api: Api; channelId: string; listing: Listing; onClose: () => void }) {
  const [entries, setEntries] = useState<SyncLogEntry[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    api.syncLog(channelId, listing.sku).then((page) => setEntries(page.entries),
                                               (failure: Error) => setError(failure.message));
  }, [api, channelId, listing.sku]);
  return (
    <Modal title={`Sync log of ${listing.sku}`} onClose={onClose} wide>
      <div className="modal-body">
        {error && <p className="error" role="alert">{error}</p>}
        {entries === null && !error && <p>Loading…</p>}
        {entries?.length === 0 && <p>Nothing submitted for this listing yet.</p>}
        {entries && entries.length > 0 && (
          <table className="table">
            <thead><tr><th scope="col">When</th><th scope="col">Quantity</th><th scope="col">Status</th>
              <th scope="col">Why</th><th scope="col">Message</th></tr></thead>
            <tbody>
              {entries.map((entry, index) => (
                <tr key={index}><td>{when(entry.at)}</td><td className="num">{entry.quantity}</td><td>{entry.status}</td>
                  <td>{entry.reason}</td><td>{entry.message}</td></tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
    </Modal>
  );
}
