// The Charge Zones card: a hub's (or one zone's) electrical zones at a glance.
//
// Structure and what no entity shows (ratings, other loads, what bounds a budget, the age of
// the last DLM reading) come from the integration's subscription
// `charge_zones/overview/subscribe`, pushed when they change; the numbers that entities show
// (budget, allocated, station currents, status, badge, session energy, DLM service, fail-safe)
// are read from those entities' states, so the card always agrees with them.

import { LitElement, css, html, nothing, type PropertyValues, type TemplateResult } from "lit";
import { defineElement } from "./define";
import "./editor";
import { format, strings, type Strings } from "./i18n";
import type {
  CardConfig,
  HassEntity,
  HomeAssistant,
  Hub,
  Overview,
  Station,
  Supply,
  Zone,
} from "./types";

declare const __CARD_VERSION__: string;

const PHASE_NAMES = ["L1", "L2", "L3"];
const UNKNOWN = new Set(["unknown", "unavailable", ""]);

function numberOf(value: string | undefined | null): number | null {
  if (value === undefined || value === null || UNKNOWN.has(value)) return null;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : null;
}

export class ChargeZonesCard extends LitElement {
  static properties = {
    hass: { attribute: false },
    _config: { state: true },
    _overview: { state: true },
    _error: { state: true },
  };

  hass?: HomeAssistant;
  private _config?: CardConfig;
  private _overview?: Overview;
  private _error?: string;
  private _unsubscribe?: Promise<() => Promise<void>>;
  private _subscribedFor?: string;

  static getConfigElement(): HTMLElement {
    return document.createElement("charge-zones-card-editor");
  }

  static async getStubConfig(hass: HomeAssistant): Promise<CardConfig> {
    try {
      const hubs = await hass.callWS<Hub[]>({ type: "charge_zones/hubs" });
      return hubs.length
        ? { type: "custom:charge-zones-card", entry_id: hubs[0].entry_id }
        : { type: "custom:charge-zones-card" };
    } catch {
      return { type: "custom:charge-zones-card" };
    }
  }

  setConfig(config: CardConfig): void {
    if (!config) throw new Error("Invalid configuration");
    this._config = { ...config };
  }

  getCardSize(): number {
    const overview = this._overview;
    if (!overview) return 3;
    return 2 + overview.zones.length * 3 + overview.stations.length;
  }

  getGridOptions(): Record<string, number> {
    return { columns: 12, min_columns: 6, min_rows: 4 };
  }

  private get _t(): Strings {
    return strings(this.hass?.locale?.language ?? this.hass?.language);
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this._subscribe();
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this._unsubscribeNow();
  }

  protected updated(changed: PropertyValues): void {
    if (changed.has("hass") || changed.has("_config")) void this._subscribe();
  }

  private _unsubscribeNow(): void {
    const pending = this._unsubscribe;
    this._unsubscribe = undefined;
    this._subscribedFor = undefined;
    if (pending) pending.then((unsub) => unsub()).catch(() => undefined);
  }

  private async _subscribe(): Promise<void> {
    if (!this.hass || !this._config || !this.isConnected) return;
    let entryId = this._config.entry_id;
    if (!entryId) {
      try {
        const hubs = await this.hass.callWS<Hub[]>({ type: "charge_zones/hubs" });
        if (!hubs.length) {
          this._error = "no_hub";
          return;
        }
        entryId = hubs[0].entry_id;
      } catch {
        this._error = "no_hub";
        return;
      }
    }
    const want = `${entryId}|${this._config.zone ?? ""}`;
    if (this._subscribedFor === want) return;
    this._unsubscribeNow();
    this._subscribedFor = want;
    this._overview = undefined;
    this._error = undefined;
    const message: Record<string, unknown> = {
      type: "charge_zones/overview/subscribe",
      entry_id: entryId,
    };
    if (this._config.zone) message.zone = this._config.zone;
    this._unsubscribe = this.hass.connection.subscribeMessage<Overview>((overview) => {
      this._overview = overview;
      this._error = undefined;
    }, message);
    this._unsubscribe.catch(() => {
      if (this._subscribedFor === want) {
        this._error = "hub_gone";
        this._subscribedFor = undefined;
        this._unsubscribe = undefined;
      }
    });
  }

  // --- reading the entities (the overview's figure when an entity has no state) -------

  private _state(entityId: string | null | undefined): HassEntity | undefined {
    return entityId ? this.hass?.states[entityId] : undefined;
  }

  private _num(entityId: string | null | undefined, fallback: number | null): number | null {
    const state = this._state(entityId);
    if (state === undefined) return fallback;
    return numberOf(state.state);
  }

  private _fmt(value: number | null, digits = 1): string {
    if (value === null) return "–";
    const language = this.hass?.locale?.language ?? this.hass?.language ?? "en";
    return new Intl.NumberFormat(language, {
      minimumFractionDigits: digits,
      maximumFractionDigits: digits,
    }).format(value);
  }

  private _age(seconds: number | null): string {
    const t = this._t;
    if (seconds === null) return "–";
    if (seconds < 120) return format(t.seconds, { n: Math.round(seconds) });
    if (seconds < 7200) return format(t.minutes, { n: Math.round(seconds / 60) });
    return format(t.hours, { n: Math.round(seconds / 3600) });
  }

  // --- rendering ----------------------------------------------------------------------

  protected render(): TemplateResult {
    const t = this._t;
    const overview = this._overview;
    if (this._error) {
      return html`<ha-card><div class="message">${t[this._error as "no_hub"]}</div></ha-card>`;
    }
    if (!overview) {
      return html`<ha-card><div class="message">${t.loading}</div></ha-card>`;
    }
    const zoneName = overview.zone
      ? overview.zones.find((z) => z.key === overview.zone)?.name
      : undefined;
    const title = this._config?.title || zoneName || overview.title;
    const managedStations = new Set(overview.zones.flatMap((z) => z.stations));
    const others = overview.stations.filter((s) => !managedStations.has(s.key));
    return html`
      <ha-card>
        <div class="header">
          <div class="title">${title}</div>
          ${this._renderDlm(overview)}
        </div>
        ${overview.supplies.filter((s) => s.shared).map((s) => this._renderSupply(s))}
        ${overview.zones.map((zone) => this._renderZone(overview, zone))}
        ${others.length
          ? html`<div class="zone others">
              <div class="zone-head"><span class="zone-name">${t.not_managed}</span></div>
              <div class="stations">${others.map((s) => this._renderStation(s))}</div>
            </div>`
          : nothing}
      </ha-card>
    `;
  }

  private _renderDlm(overview: Overview): TemplateResult {
    const t = this._t;
    const state = this._state(overview.dlm.entity);
    const running = state ? state.state === "on" : overview.dlm.running;
    if (!overview.dlm.active) {
      return html`<div class="dlm" data-dlm="none"><span class="dot off"></span>${t.dlm_none}</div>`;
    }
    return html`<div class="dlm" data-dlm=${running ? "on" : "off"}>
      <span class="dot ${running ? "on" : "off"}"></span>${running ? t.dlm_running : t.dlm_stopped}
    </div>`;
  }

  private _supplyOf(overview: Overview, zone: Zone): Supply | undefined {
    return overview.supplies.find((s) => zone.meters.includes(s.key));
  }

  private _renderSupply(supply: Supply): TemplateResult {
    const t = this._t;
    const other = supply.other_load ?? [null, null, null];
    const maxOther = Math.max(...other.map((v) => v ?? 0));
    return html`<div class="supply" data-supply=${supply.key}>
      <div class="zone-head">
        <ha-icon icon="mdi:transmission-tower"></ha-icon>
        <span class="zone-name">${supply.name}</span>
        <span class="muted">${supply.shared ? t.shared_supply : t.supply}</span>
      </div>
      <div class="muted small">
        ${format(t.supply_detail, {
          rating: this._fmt(supply.rating, 0),
          other: this._fmt(supply.other_load ? maxOther : null),
        })}
        · ${supply.reading_age === null
          ? t.no_reading
          : format(t.last_reading, { age: this._age(supply.reading_age) })}
      </div>
    </div>`;
  }

  private _renderZone(overview: Overview, zone: Zone): TemplateResult {
    const t = this._t;
    const supply = this._supplyOf(overview, zone);
    const failsafeState = this._state(zone.entities.failsafe);
    const inFailsafe = failsafeState ? failsafeState.state === "on" : zone.failsafe !== null;
    const stations = zone.stations
      .map((key) => overview.stations.find((s) => s.key === key))
      .filter((s): s is Station => s !== undefined);
    const bounds = zone.binding_phase !== null ? zone.budget_bounds[zone.binding_phase] : null;
    let boundText = "";
    if (!inFailsafe && bounds) {
      boundText =
        bounds.kind === "rating"
          ? t.bound_rating
          : format(bounds.kind === "supply" ? t.bound_supply : t.bound_parent, {
              name: bounds.name,
            });
    }
    return html`<div
      class="zone ${inFailsafe ? "in-failsafe" : ""}"
      style="--depth: ${zone.depth}"
      data-zone=${zone.key}
    >
      <div class="zone-head">
        <ha-icon icon=${zone.depth ? "mdi:subdirectory-arrow-right" : "mdi:home-lightning-bolt"}></ha-icon>
        <span class="zone-name">${zone.name}</span>
        <span class="muted" data-kind="rating">${this._fmt(zone.rating, 0)} A</span>
        <span class="spacer"></span>
        <span class="chip">${format(t.active, { count: zone.active })}</span>
        ${zone.paused ? html`<span class="chip warn">${format(t.paused, { count: zone.paused })}</span>` : nothing}
      </div>
      ${inFailsafe
        ? html`<div class="failsafe" data-failsafe="on">
            <ha-icon icon="mdi:shield-alert"></ha-icon>
            <div>
              <div>${format(t.failsafe, { current: this._fmt(zone.failsafe_current, 0) })}</div>
              <div class="small">
                ${zone.failsafe
                  ? zone.failsafe.age === null
                    ? format(t.failsafe_never, { meter: zone.failsafe.meter })
                    : format(t.failsafe_why, {
                        meter: zone.failsafe.meter,
                        age: this._age(zone.failsafe.age),
                      })
                  : nothing}
              </div>
            </div>
          </div>`
        : html`<div class="muted small reading" data-failsafe="off">
            ${supply
              ? html`${supply.name}:
                ${supply.reading_age === null
                  ? t.no_reading
                  : format(t.last_reading, { age: this._age(supply.reading_age) })}`
              : nothing}
          </div>`}
      <div class="phases">${zone.phases.map((p) => this._renderPhase(zone, supply, p, inFailsafe))}</div>
      <div class="legend small">
        <span><i class="sw alloc"></i>${t.allocated}</span>
        <span><i class="sw meas"></i>${t.measured}</span>
        <span><i class="sw budget"></i>${t.budget}</span>
        ${supply ? html`<span><i class="sw other"></i>${t.other_load}</span>` : nothing}
        <span><i class="sw rating"></i>${t.rating}</span>
      </div>
      ${boundText || zone.limited_by.length
        ? html`<div class="muted small bound">
            ${boundText}${boundText && zone.limited_by.length ? " · " : ""}${zone.limited_by
              .map((name) => format(t.limited_by, { name }))
              .join(" · ")}
          </div>`
        : nothing}
      <div class="stations">
        ${stations.length
          ? stations.map((s) => this._renderStation(s))
          : html`<div class="muted small">${t.no_stations}</div>`}
      </div>
    </div>`;
  }

  private _renderPhase(
    zone: Zone,
    supply: Supply | undefined,
    p: number,
    inFailsafe: boolean,
  ): TemplateResult {
    const t = this._t;
    const budget = inFailsafe
      ? null
      : this._num(zone.entities.budget[p], zone.budget ? zone.budget[p] : null);
    const allocated = this._num(zone.entities.allocated[p], zone.allocated ? zone.allocated[p] : null);
    const measured = zone.measured[p];
    const other = supply?.other_load ? supply.other_load[p] : null;
    const supplyRating = supply?.rating ?? null;
    const scale = Math.max(
      zone.rating,
      supplyRating ?? 0,
      budget ?? 0,
      allocated ?? 0,
      measured ?? 0,
      1,
    );
    const pct = (value: number) => `${Math.max(0, Math.min(100, (value / scale) * 100))}%`;
    const binding = !inFailsafe && zone.binding_phase === p;
    return html`<div class="phase ${binding ? "binding" : ""}" data-phase=${PHASE_NAMES[p]}>
      <div class="phase-name" title=${binding ? t.binding : ""}>${PHASE_NAMES[p]}</div>
      <div class="bar" role="img" aria-label="${PHASE_NAMES[p]}: ${t.allocated} ${this._fmt(allocated)} A, ${t.budget} ${this._fmt(budget)} A">
        ${other !== null && supplyRating !== null
          ? html`<div
              class="seg other"
              style="left: ${pct(Math.max(0, supplyRating - other))}; width: ${pct(Math.min(other, supplyRating))}"
            ></div>`
          : nothing}
        ${allocated !== null ? html`<div class="seg alloc" style="width: ${pct(allocated)}"></div>` : nothing}
        ${measured !== null ? html`<div class="seg meas" style="width: ${pct(measured)}"></div>` : nothing}
        ${budget !== null ? html`<div class="mark budget" style="left: ${pct(budget)}"></div>` : nothing}
        <div class="mark rating" style="left: ${pct(zone.rating)}"></div>
      </div>
      <div class="phase-figures">
        <span class="strong" data-entity=${zone.entities.allocated[p] ?? ""} data-kind="allocated"
          >${this._fmt(allocated)}</span
        >
        / <span data-entity=${zone.entities.budget[p] ?? ""} data-kind="budget">${this._fmt(budget)}</span> A
        <div class="muted small">${t.measured} ${this._fmt(measured)} A</div>
      </div>
    </div>`;
  }

  private _renderStation(station: Station): TemplateResult {
    const t = this._t;
    const connected = this._state(station.entities.connected);
    const online = connected ? connected.state === "on" : station.connected;
    const connector = station.connectors[0];
    const statusState = this._state(connector?.entity);
    let status: string;
    if (!online) status = t.offline;
    else if (statusState && !UNKNOWN.has(statusState.state))
      status = this.hass?.formatEntityState
        ? this.hass.formatEntityState(statusState)
        : statusState.state;
    else status = connector?.status ?? "–";
    const rawStatus = statusState?.state ?? connector?.status ?? "";
    const allocatedState = this._state(station.entities.allocated);
    const allocated = this._num(station.entities.allocated, station.allocated);
    const reason =
      (allocatedState?.attributes.reason as string | undefined) ?? station.reason ?? null;
    const drawn = [...station.phases].sort().map((p) => ({
      phase: p,
      entity: station.entities.current[p],
      value: this._num(station.entities.current[p], station.drawn[p]),
    }));
    const drawnMax = drawn.reduce<number | null>(
      (max, d) => (d.value === null ? max : Math.max(max ?? 0, d.value)),
      null,
    );
    const badgeState = this._state(station.entities.badge);
    const badge = badgeState
      ? UNKNOWN.has(badgeState.state)
        ? null
        : badgeState.state
      : station.badge;
    const energyState = this._state(station.entities.session_energy);
    let energy: string;
    if (energyState && !UNKNOWN.has(energyState.state)) {
      const unit = (energyState.attributes.unit_of_measurement as string | undefined) ?? "";
      energy = `${this._fmt(numberOf(energyState.state), unit === "Wh" ? 0 : 2)} ${unit}`;
    } else if (station.session_energy_wh !== null) {
      energy = `${this._fmt(station.session_energy_wh / 1000, 2)} kWh`;
    } else energy = "–";
    const reasonText = reason ? (t.reason[reason] ?? reason) : null;
    const limit = station.max_current;
    const pct = (v: number | null) => `${v === null ? 0 : Math.max(0, Math.min(100, (v / limit) * 100))}%`;
    return html`<div
      class="station ${online ? "" : "offline"} status-${rawStatus}"
      data-station=${station.station_id}
    >
      <div class="station-line">
        <ha-icon icon=${online ? "mdi:ev-station" : "mdi:lan-disconnect"}></ha-icon>
        <span class="station-name">${station.station_id}</span>
        <span class="status" data-entity=${connector?.entity ?? ""} data-kind="status">${status}</span>
        <span class="spacer"></span>
        ${station.zone
          ? html`<span class="currents" title=${t.allocated_drawn}>
              <span class="strong" data-entity=${station.entities.allocated ?? ""} data-kind="allocated"
                >${this._fmt(allocated)}</span
              >
              /
              <span data-kind="drawn">${this._fmt(drawnMax)}</span> A
            </span>`
          : html`<span class="currents"><span data-kind="drawn">${this._fmt(drawnMax)}</span> A</span>`}
      </div>
      ${station.zone
        ? html`<div class="minibar">
            <div class="seg alloc" style="width: ${pct(allocated)}"></div>
            <div class="seg meas" style="width: ${pct(drawnMax)}"></div>
          </div>`
        : nothing}
      <div class="station-detail small">
        ${reasonText
          ? html`<span class="reason reason-${reason}" data-reason=${reason ?? ""}>${reasonText}</span>`
          : nothing}
        <span class="badge" data-entity=${station.entities.badge ?? ""} data-kind="badge">
          <ha-icon icon="mdi:badge-account-horizontal-outline"></ha-icon>${badge ?? t.no_badge}
        </span>
        <span class="energy" data-entity=${station.entities.session_energy ?? ""} data-kind="energy">
          <ha-icon icon="mdi:lightning-bolt"></ha-icon>${t.session_energy} ${energy}
        </span>
        <span class="muted phases-drawn">
          ${drawn.map(
            (d) =>
              html`<span class="drawn" data-entity=${d.entity ?? ""} data-kind="current"
                >${PHASE_NAMES[d.phase]} ${this._fmt(d.value)}</span
              >`,
          )}
        </span>
      </div>
    </div>`;
  }

  static styles = css`
    :host {
      --cz-alloc: var(--primary-color, #03a9f4);
      --cz-meas: var(--success-color, #43a047);
      --cz-other: var(--warning-color, #ffa600);
      --cz-budget: var(--primary-text-color, #212121);
      --cz-rating: var(--error-color, #db4437);
      --cz-track: var(--secondary-background-color, #e5e5e5);
    }
    ha-card {
      padding: 12px 16px 16px;
      color: var(--primary-text-color);
      container-type: inline-size;
    }
    .message {
      padding: 8px 0;
      color: var(--secondary-text-color);
    }
    .header {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 4px 12px;
      margin-bottom: 8px;
    }
    .title {
      font-size: var(--ha-card-header-font-size, 20px);
      font-weight: 500;
      flex: 1 1 auto;
    }
    .dlm {
      display: flex;
      align-items: center;
      gap: 6px;
      font-size: 0.9em;
      color: var(--secondary-text-color);
    }
    .dot {
      width: 10px;
      height: 10px;
      border-radius: 50%;
      display: inline-block;
    }
    .dot.on {
      background: var(--success-color, #43a047);
      box-shadow: 0 0 6px var(--success-color, #43a047);
    }
    .dot.off {
      background: var(--error-color, #db4437);
    }
    .small {
      font-size: 0.85em;
    }
    .muted {
      color: var(--secondary-text-color);
    }
    .strong {
      font-weight: 600;
    }
    .spacer {
      flex: 1 1 auto;
    }
    ha-icon {
      --mdc-icon-size: 18px;
      color: var(--secondary-text-color);
    }
    .supply,
    .zone {
      border-top: 1px solid var(--divider-color, rgba(0, 0, 0, 0.12));
      padding: 10px 0 4px;
      margin-left: calc(var(--depth, 0) * 16px);
    }
    .zone-head {
      display: flex;
      align-items: center;
      gap: 6px;
      flex-wrap: wrap;
    }
    .zone-name {
      font-weight: 500;
      font-size: 1.05em;
    }
    .chip {
      font-size: 0.8em;
      padding: 1px 8px;
      border-radius: 10px;
      background: var(--cz-track);
      color: var(--primary-text-color);
    }
    .chip.warn {
      background: var(--warning-color, #ffa600);
      color: var(--text-primary-color, #fff);
    }
    .failsafe {
      display: flex;
      gap: 8px;
      align-items: center;
      margin: 6px 0;
      padding: 6px 10px;
      border-radius: 8px;
      background: rgba(var(--rgb-error-color, 219, 68, 55), 0.12);
      color: var(--error-color, #db4437);
    }
    .failsafe ha-icon {
      color: var(--error-color, #db4437);
    }
    .reading {
      margin: 2px 0 4px;
    }
    .phases {
      display: grid;
      gap: 6px;
      margin: 6px 0 4px;
    }
    .phase {
      display: grid;
      grid-template-columns: 28px 1fr 118px;
      align-items: center;
      gap: 8px;
      border-radius: 6px;
      padding: 2px 4px;
    }
    .phase.binding {
      background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.1);
      outline: 1px solid var(--cz-alloc);
    }
    .phase.binding .phase-name {
      color: var(--cz-alloc);
      font-weight: 700;
    }
    .phase-name {
      font-weight: 500;
    }
    .bar,
    .minibar {
      position: relative;
      height: 18px;
      border-radius: 4px;
      background: var(--cz-track);
      overflow: hidden;
    }
    .minibar {
      height: 6px;
      margin: 4px 0 2px 24px;
    }
    .seg {
      position: absolute;
      top: 0;
      bottom: 0;
      left: 0;
    }
    .seg.alloc {
      background: var(--cz-alloc);
      opacity: 0.45;
    }
    .seg.meas {
      top: 30%;
      bottom: 30%;
      background: var(--cz-meas);
    }
    .seg.other {
      background: repeating-linear-gradient(
        -45deg,
        var(--cz-other),
        var(--cz-other) 4px,
        transparent 4px,
        transparent 8px
      );
      opacity: 0.8;
    }
    .mark {
      position: absolute;
      top: 0;
      bottom: 0;
      width: 3px;
      margin-left: -1.5px;
    }
    .mark.budget {
      background: var(--cz-budget);
    }
    .mark.rating {
      background: var(--cz-rating);
      width: 2px;
      opacity: 0.7;
    }
    .phase-figures {
      text-align: right;
      white-space: nowrap;
    }
    .legend {
      display: flex;
      flex-wrap: wrap;
      gap: 2px 12px;
      color: var(--secondary-text-color);
      margin: 2px 0 2px 40px;
    }
    .sw {
      display: inline-block;
      width: 10px;
      height: 10px;
      margin-right: 4px;
      vertical-align: -1px;
      border-radius: 2px;
    }
    .sw.alloc {
      background: var(--cz-alloc);
      opacity: 0.45;
    }
    .sw.meas {
      background: var(--cz-meas);
    }
    .sw.budget {
      background: var(--cz-budget);
      width: 3px;
    }
    .sw.rating {
      background: var(--cz-rating);
      width: 2px;
    }
    .sw.other {
      background: var(--cz-other);
    }
    .bound {
      margin: 2px 0 4px 40px;
    }
    .stations {
      display: grid;
      gap: 6px;
      margin-top: 8px;
      grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
    }
    .station {
      padding: 6px 8px;
      border-radius: 8px;
      background: var(--cz-track);
    }
    .station.offline {
      opacity: 0.6;
    }
    .station-line {
      display: flex;
      align-items: center;
      gap: 6px;
      flex-wrap: wrap;
    }
    .station-name {
      font-weight: 500;
    }
    .status {
      color: var(--secondary-text-color);
    }
    .status-charging .status {
      color: var(--success-color, #43a047);
    }
    .currents {
      white-space: nowrap;
    }
    .station-detail {
      display: flex;
      flex-wrap: wrap;
      gap: 2px 12px;
      margin-left: 24px;
      align-items: center;
    }
    .station-detail ha-icon {
      --mdc-icon-size: 14px;
      margin-right: 2px;
    }
    .reason {
      padding: 0 6px;
      border-radius: 8px;
      background: var(--card-background-color, #fff);
    }
    .reason-paused,
    .reason-ignoring_limit {
      color: var(--warning-color, #ffa600);
    }
    .reason-failsafe {
      color: var(--error-color, #db4437);
    }
    .phases-drawn {
      display: inline-flex;
      gap: 8px;
    }
    /* A narrow card (a phone, a narrow column): figures under the bar. */
    @container (max-width: 440px) {
      .phase {
        grid-template-columns: 24px 1fr;
      }
      .phase-figures {
        grid-column: 2;
        text-align: left;
        display: flex;
        gap: 8px;
        align-items: baseline;
      }
      .legend,
      .bound {
        margin-left: 0;
      }
      .supply,
      .zone {
        margin-left: calc(var(--depth, 0) * 8px);
      }
      .station-detail {
        margin-left: 0;
      }
      .minibar {
        margin-left: 0;
      }
    }
  `;
}

defineElement("charge-zones-card", ChargeZonesCard);

declare global {
  interface Window {
    customCards?: { type: string; name: string; description: string; preview?: boolean; documentationURL?: string }[];
  }
}

// The card picker's entry, in the UI language when the picker reads it (the frontend's
// <home-assistant> element holds it; the browser's language before the frontend started).
function uiStrings(): Strings {
  const frontend = document.querySelector("home-assistant") as (Element & { hass?: HomeAssistant }) | null;
  return strings(frontend?.hass?.locale?.language ?? frontend?.hass?.language ?? navigator.language);
}

window.customCards = window.customCards ?? [];
if (!window.customCards.some((c) => c.type === "charge-zones-card")) {
  window.customCards.push({
    type: "charge-zones-card",
    get name() {
      return uiStrings().card_name;
    },
    get description() {
      return uiStrings().card_description;
    },
    preview: true,
    documentationURL: "https://github.com/charge-zones/charge_zones#the-charge-zones-card",
  });
}

console.info(`%c CHARGE-ZONES-CARD %c ${__CARD_VERSION__} `, "color: white; background: #03a9f4", "");
