// The card editor: pick the hub and, optionally, one zone (no YAML needed).

import { LitElement, css, html, nothing, type TemplateResult } from "lit";
import { strings, type Strings } from "./i18n";
import { defineElement } from "./define";
import type { CardConfig, HomeAssistant, Hub } from "./types";

// The zone choice's value for "All zones" (no zone in the card's configuration); not "",
// which the frontend's select shows as no choice at all.
const ALL_ZONES = "__all__";

export class ChargeZonesCardEditor extends LitElement {
  static properties = {
    hass: { attribute: false },
    _config: { state: true },
    _hubs: { state: true },
  };

  hass?: HomeAssistant;
  private _config?: CardConfig;
  private _hubs?: Hub[];
  private _loading = false;

  setConfig(config: CardConfig): void {
    this._config = { ...config };
  }

  private get _t(): Strings {
    return strings(this.hass?.locale?.language ?? this.hass?.language);
  }

  protected updated(): void {
    if (this.hass && this._hubs === undefined && !this._loading) {
      this._loading = true;
      this.hass
        .callWS<Hub[]>({ type: "charge_zones/hubs" })
        .then((hubs) => {
          this._hubs = hubs;
          if (this._config && !this._config.entry_id && hubs.length) {
            this._changed({ ...this._config, entry_id: hubs[0].entry_id });
          }
        })
        .catch(() => {
          this._hubs = [];
        });
    }
  }

  private _changed(config: CardConfig): void {
    const clean: CardConfig = { type: config.type };
    if (config.entry_id) clean.entry_id = config.entry_id;
    if (config.zone && config.zone !== ALL_ZONES) clean.zone = config.zone;
    if (config.title) clean.title = config.title;
    this._config = clean;
    this.dispatchEvent(
      new CustomEvent("config-changed", { detail: { config: clean }, bubbles: true, composed: true }),
    );
  }

  private _schema(): unknown[] {
    const t = this._t;
    const hubs = this._hubs ?? [];
    const hub = hubs.find((h) => h.entry_id === this._config?.entry_id) ?? hubs[0];
    return [
      {
        name: "entry_id",
        required: true,
        selector: {
          select: { mode: "dropdown", options: hubs.map((h) => ({ value: h.entry_id, label: h.title })) },
        },
      },
      {
        name: "zone",
        selector: {
          select: {
            mode: "dropdown",
            options: [
              { value: ALL_ZONES, label: t.editor_all_zones },
              ...(hub?.zones ?? []).map((z) => ({ value: z.key, label: z.name })),
            ],
          },
        },
      },
      { name: "title", selector: { text: {} } },
    ];
  }

  private _label = (item: { name: string }): string => {
    const t = this._t;
    return ({ entry_id: t.editor_hub, zone: t.editor_zone, title: t.editor_title } as Record<string, string>)[
      item.name
    ];
  };

  protected render(): TemplateResult | typeof nothing {
    if (!this.hass || !this._config) return nothing;
    if (this._hubs === undefined) return html`<div class="muted">${this._t.loading}</div>`;
    if (!this._hubs.length) return html`<div class="muted">${this._t.no_hub}</div>`;
    const data = { title: "", ...this._config, zone: this._config.zone || ALL_ZONES };
    if (customElements.get("ha-form")) {
      return html`<ha-form
        .hass=${this.hass}
        .data=${data}
        .schema=${this._schema()}
        .computeLabel=${this._label}
        @value-changed=${(ev: CustomEvent) => {
          const value = ev.detail.value as CardConfig;
          const zones = this._hubs?.find((h) => h.entry_id === value.entry_id)?.zones ?? [];
          if (value.zone && !zones.some((z) => z.key === value.zone)) value.zone = ALL_ZONES;
          this._changed({ ...this._config!, ...value });
        }}
      ></ha-form>`;
    }
    // Without Home Assistant's form element (never in its card editor): plain selects.
    const hub = this._hubs.find((h) => h.entry_id === data.entry_id) ?? this._hubs[0];
    return html`<label
        >${this._t.editor_hub}
        <select
          @change=${(ev: Event) =>
            this._changed({ ...this._config!, entry_id: (ev.target as HTMLSelectElement).value, zone: "" })}
        >
          ${this._hubs.map(
            (h) => html`<option value=${h.entry_id} ?selected=${h.entry_id === hub.entry_id}>${h.title}</option>`,
          )}
        </select></label
      >
      <label
        >${this._t.editor_zone}
        <select
          @change=${(ev: Event) => this._changed({ ...this._config!, zone: (ev.target as HTMLSelectElement).value })}
        >
          <option value=${ALL_ZONES}>${this._t.editor_all_zones}</option>
          ${hub.zones.map((z) => html`<option value=${z.key} ?selected=${z.key === data.zone}>${z.name}</option>`)}
        </select></label
      >`;
  }

  static styles = css`
    label {
      display: block;
      margin: 8px 0;
    }
    select {
      display: block;
      width: 100%;
      margin-top: 4px;
    }
    .muted {
      color: var(--secondary-text-color);
    }
  `;
}

defineElement("charge-zones-card-editor", ChargeZonesCardEditor);
