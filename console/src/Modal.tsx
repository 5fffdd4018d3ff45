import { type ReactNode, useEffect, useId, useRef } from "react";

/** A modal dialog on the native <dialog>: focus kept inside, Escape closes, the page behind inert. */
export function Modal({ title, onClose, children, wide = false }:
    { title: string; onClose: () => void; children: ReactNode; wide?: boolean }) {
  const dialog = useRef<HTMLDialogElement>(null);
  const titleId = useId();
  useEffect(() => {
    const element = dialog.current;
    if (element && !element.open) element.showModal();
    return () => element?.close();
  }, []);
  return (
    <dialog ref={dialog} className={wide ? "modal wide" : "modal"} aria-labelledby={titleId}
            onCancel={(event) => { event.preventDefault(); onClose(); }}>
      <div className="modal-head">
        <h2 id={titleId}>{title}</h2>
        <button type="button" className="close" aria-label="Close" onClick={onClose}>×</button>
      </div>
      {children}
    </dialog>
  );
}

/** A yes/no question with the consequences spelled out. */
export function Confirm({ title, children, confirmLabel, onConfirm, onCancel }:
    { title: string; children: ReactNode; confirmLabel: string; onConfirm: () => void; onCancel: () => void }) {
  return (
    <Modal title={title} onClose={onCancel}>
      <div className="modal-body">{children}</div>
      <div className="modal-actions">
        <button type="button" onClick={onCancel}>Cancel</button>
        <button type="button" className="primary" onClick={onConfirm}>{confirmLabel}</button>
      </div>
    </Modal>
  );
}
