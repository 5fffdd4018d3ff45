import { type ReactNode, useCallback, useEffect, useState } from "react";
import { type Api, ApiError } from "./api";
import { when } from "./format";
import { Confirm } from "./Modal";
import type { CatalogueReport, Channel, Job } from "./types";

type Track = (label: string, job: Job) => void;

interface Question {
  title: string;
  body: ReactNode;
  confirmLabel: string;
  run: () => Promise<void>;
}

/** The channel's own actions, with the wording and guards of the seller's mapping screens. */
export function ChannelActions({ api, channel, track }: { api: Api; channel: Channel; track: Track }) {
  const [question, setQuestion] = useState<Question | null>(null);
  const [notice, setNotice] = useState<{ text: string; tone: "info" | "error" } | null>(null);
  const [report, setReport] = useState<CatalogueReport | null>(null);
  const id = channel.channel_id;
  const isAmazon = channel.type === "amazon";
  const isRakuten = channel.type === "rakuten";

  const fail = (failure: unknown) =>
    setNotice({ text: failure instanceof Error ? failure.message : String(failure), tone: "error" });

  const loadReport = useCallback(() => {
    if (!isAmazon && !isRakuten) return;
    api.report(id).then(setReport, () => setReport(null));
  }, [api, id, isAmazon, isRakuten]);
  useEffect(loadReport, [loadReport]);

  async function run(work: () => Promise<void>) {
    setNotice(null);
    try {
      await work();
    } catch (failure) {
      fail(failure);
    }
  }

  function forceUpdate() {
    void run(async () => {
      try {
        track("Force Update", await api.forceUpdate(id, false));
      } catch (failure) {
        if (!(failure instanceof ApiError) || failure.code !== "force_update_too_soon") throw failure;
        setQuestion({
          title: "Force Update ran less than 15 minutes ago",
          confirmLabel: "Force Update anyway",
          body: (
            <>
              <p>{failure.message.replace(" Send confirm=true to run it anyway.", "")}</p>
              <p>Force Update resubmits the stock level of every linked listing. It is meant for when Technical Support
                recommends it: used too often, the channel can throttle the account, and then no stock update reaches
                it for a while.</p>
            </>
          ),
          run: async () => track("Force Update", await api.forceUpdate(id, true)),
        });
      }
    });
  }

  function createAll() {
    setQuestion({
      title: "Create all",
      confirmLabel: "Create items",
      body: <p>This creates a new inventory item for every listing of {channel.name} not linked to an item yet, and
        links each to its listing (SKU, title and price from the listing). Listings whose SKU is already an item's
        are left for Link All by SKU.</p>,
      run: async () => track("Create all", await api.createAll(id)),
    });
  }

  function reRequest() {
    setQuestion({
      title: "Re-request Report",
      confirmLabel: "Request a report",
      body: <p>Request a fresh listings report from Amazon? It usually takes 10–15 minutes to be generated; the
        mapping screen shows the new listings once it has been loaded.</p>,
      run: async () => {
        const answer = await api.refresh(id, true);
        setReport(answer);
        setNotice({ text: answer.message, tone: "info" });
      },
    });
  }

  function forceMappingRefresh() {
    void run(async () => {
      const answer = await api.refresh(id, false);
      setReport(answer);
      setNotice({ text: answer.message, tone: "info" });
    });
  }

  return (
    <section className="actions" aria-label="Channel actions">
      <div className="action-buttons">
        <button type="button" onClick={() => void run(async () => track("Link All by SKU", await api.autoLink(id)))}>
          Link All by SKU
        </button>
        {isRakuten
          ? <button type="button" disabled aria-describedby="no-create">Create all</button>
          : <button type="button" onClick={createAll}>Create all</button>}
        <button type="button" onClick={forceUpdate}>Force Update</button>
        {isAmazon && <button type="button" onClick={reRequest}>Re-request Report</button>}
        {isRakuten && (
          <button type="button" onClick={forceMappingRefresh} aria-describedby="refresh-rules">
            Force Mapping Refresh
          </button>
        )}
      </div>
      {isRakuten && (
        <p className="muted small" id="no-create">
          Rakuten listings can only be linked to items already in the inventory: items cannot be created from them.
        </p>
      )}
      {isRakuten && (
        <p className="muted small" id="refresh-rules">
          Force Mapping Refresh works only while the channel is enabled, and once in 4 hours. The listings report is
          otherwise retrieved every 30 minutes.
        </p>
      )}
      {report && (isAmazon || isRakuten) && <ReportState report={report} />}
      {notice && <p className={notice.tone === "error" ? "error" : "message"} role={notice.tone === "error" ? "alert" : "status"}>
        {notice.text}</p>}
      {question && (
        <Confirm title={question.title} confirmLabel={question.confirmLabel}
                 onCancel={() => setQuestion(null)}
                 onConfirm={() => { const asked = question; setQuestion(null); void run(asked.run); }}>
          {question.body}
        </Confirm>
      )}
    </section>
  );
}

function ReportState({ report }: { report: CatalogueReport }) {
  return (
    <div className="report" role="status" aria-label="Catalogue report">
      <strong>Report:</strong> {report.status.replaceAll("_", " ")}
      {report.completed_at && <> · loaded {when(report.completed_at)}</>}
      {report.requested_at && !report.completed_at && <> · requested {when(report.requested_at)}</>}
      {report.next_retrieval_at && <> · next retrieval {when(report.next_retrieval_at)}</>}
      {report.force_refresh_allowed_at && <> · Force Mapping Refresh allowed from {when(report.force_refresh_allowed_at)}</>}
      {report.message && <div className="small">{report.message}</div>}
      {report.warning && <div className="warning small">{report.warning}</div>}
    </div>
  );
}
