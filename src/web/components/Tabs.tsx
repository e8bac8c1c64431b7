/** Tabs as links (each tab has its own URL, so reload and back work), with arrow-key moves. */
import type { KeyboardEvent } from "react";
import { Link, useLocation } from "wouter";

export function Tabs({ base, tabs, current, label }: { base: string; tabs: { id: string; label: string }[]; current: string; label: string }) {
  const [, navigate] = useLocation();
  const onKey = (e: KeyboardEvent) => {
    const i = tabs.findIndex((x) => x.id === current);
    const next = e.key === "ArrowRight" ? i + 1 : e.key === "ArrowLeft" ? i - 1 : null;
    if (next === null) return;
    const tab = tabs[(next + tabs.length) % tabs.length];
    if (!tab) return;
    e.preventDefault();
    navigate(`${base}/${tab.id}`);
    requestAnimationFrame(() => document.getElementById(`tab-${tab.id}`)?.focus());
  };
  return (
    <div className="tabs" role="tablist" aria-label={label} onKeyDown={onKey}>
      {tabs.map((x) => (
        <Link key={x.id} id={`tab-${x.id}`} role="tab" href={`${base}/${x.id}`} aria-selected={x.id === current} tabIndex={x.id === current ? 0 : -1} className="tab">
          {x.label}
        </Link>
      ))}
    </div>
  );
}
