import type { InteractionEvent } from "@funnel/two-tower";

export interface FunnelSession {
  /** The session's events in time order. */
  events: InteractionEvent[];
  /** Index of the first converting event, or -1 when the session did not convert. */
  converts: number;
}

/**
 * Events grouped by session. The conversion head and the page base rates both learn from the events before a
 * session's first conversion, labelled with whether the session converts later.
 */
export function funnelSessions(events: readonly InteractionEvent[]): FunnelSession[] {
  const sessions = new Map<string, InteractionEvent[]>();
  for (const e of events) {
    const list = sessions.get(e.sessionId);
    if (list) list.push(e);
    else sessions.set(e.sessionId, [e]);
  }
  return [...sessions.values()].map((list) => {
    list.sort((a, b) => a.timestamp - b.timestamp);
    return { events: list, converts: list.findIndex((e) => e.converted) };
  });
}

/** The events before the first conversion (all of them for a session that did not convert). */
export function eventsBeforeConversion(session: FunnelSession): InteractionEvent[] {
  return session.converts === -1 ? session.events : session.events.slice(0, session.converts);
}
