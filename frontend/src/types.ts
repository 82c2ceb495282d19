// What the integration's websocket commands answer (custom_components/charge_zones/overview.py)
// and the little of Home Assistant's frontend objects the card uses.

export type Triple = [number | null, number | null, number | null];

export interface Bound {
  kind: "rating" | "supply" | "parent";
  key: string;
  name: string;
}

export interface Zone {
  key: string;
  name: string;
  parent: string | null;
  depth: number;
  phases: number[];
  rating: number;
  failsafe_current: number;
  stale_after: number;
  budget: Triple | null;
  allocated: Triple | null;
  measured: Triple;
  binding_phase: number | null;
  binding: boolean;
  limited_by: string[];
  budget_bounds: (Bound | null)[];
  meters: string[];
  active: number;
  paused: number;
  failsafe: { meter: string; age: number | null; stale_after: number } | null;
  stations: string[];
  entities: {
    budget: (string | null)[];
    allocated: (string | null)[];
    headroom: string | null;
    failsafe: string | null;
    max_current: string | null;
  };
}

export interface Connector {
  id: number;
  status: string | null;
  allocated: number | null;
  reason: string | null;
  entity: string | null;
}

export interface Station {
  key: string;
  station_id: string;
  zone: string | null;
  remote: boolean;
  connected: boolean;
  phases: number[];
  min_current: number;
  max_current: number;
  priority: number;
  connectors: Connector[];
  allocated: number | null;
  reason: string | null;
  limited_by: string | null;
  failsafe: boolean;
  drawn: Triple;
  badge: string | null;
  session_energy_wh: number | null;
  charging: boolean;
  entities: {
    connected: string | null;
    allocated: string | null;
    current: (string | null)[];
    session_energy: string | null;
    badge: string | null;
    max_current: string | null;
  };
}

export interface Supply {
  key: string;
  name: string;
  shared: boolean;
  zones: string[];
  rating: number | null;
  measured: Triple | null;
  other_load: Triple | null;
  room: Triple | null;
  reading_age: number | null;
  reachable: boolean;
}

export interface Overview {
  entry_id: string;
  title: string;
  zone: string | null;
  dlm: { running: boolean; active: boolean; error: string | null; entity: string | null };
  supplies: Supply[];
  zones: Zone[];
  stations: Station[];
}

export interface Hub {
  entry_id: string;
  title: string;
  zones: { key: string; name: string }[];
}

export interface CardConfig {
  type: string;
  entry_id?: string;
  zone?: string;
  title?: string;
}

export interface HassEntity {
  entity_id: string;
  state: string;
  attributes: Record<string, unknown>;
}

export interface HomeAssistant {
  states: Record<string, HassEntity>;
  language?: string;
  locale?: { language: string };
  themes?: { darkMode?: boolean };
  formatEntityState?: (stateObj: HassEntity, state?: string) => string;
  callWS<T>(message: Record<string, unknown>): Promise<T>;
  connection: {
    subscribeMessage<T>(
      callback: (message: T) => void,
      message: Record<string, unknown>,
    ): Promise<() => Promise<void>>;
  };
}
