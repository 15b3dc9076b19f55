/**
 * Home Assistant MQTT discovery: retained JSON configs at <discoveryPrefix>/<component>/<node>/<object>/config.
 * The entities read <base>/ha (a small JSON view the telemetry keeps retained: HA cannot read CBOR) and are
 * available while <base>/status is "online".
 *   sensors: current (A), power (W), energy (kWh, total_increasing), state (connector status), limit (A, with
 *   the winning claim in limit_reason); number: the current limit (-> cmd/limit, plain text amps);
 *   switch: pause (-> cmd/pause, ON / OFF).
 */
export interface DiscoveryConfig {
  chargerId: string;
  discoveryPrefix: string;
  maxAmps: number;
}

/** HA object/node ids allow [a-zA-Z0-9_-]: anything else becomes "_". */
export function haNodeId(id: string): string {
  return id.replace(/[^A-Za-z0-9_-]/g, "_");
}

export function discoveryMessages(cfg: DiscoveryConfig, base: string): Array<{ topic: string; payload: string }> {
  const node = haNodeId(cfg.chargerId);
  const device = { identifiers: [node], name: `EV charger ${cfg.chargerId}`, manufacturer: "chargepoint-firmware" };
  const common = { availability_topic: `${base}/status`, payload_available: "online", payload_not_available: "offline", device };
  const st = `${base}/ha`;
  const sensor = (object: string, name: string, extra: Record<string, unknown>) => ({
    topic: `${cfg.discoveryPrefix}/sensor/${node}/${object}/config`,
    payload: JSON.stringify({ name, unique_id: `${node}_${object}`, state_topic: st, ...extra, ...common }),
  });
  return [
    sensor("current", "Current", { value_template: "{{ value_json.current }}", unit_of_measurement: "A", device_class: "current", state_class: "measurement" }),
    sensor("power", "Power", { value_template: "{{ value_json.power }}", unit_of_measurement: "W", device_class: "power", state_class: "measurement" }),
    sensor("energy", "Energy", { value_template: "{{ value_json.energy }}", unit_of_measurement: "kWh", device_class: "energy", state_class: "total_increasing" }),
    sensor("state", "State", { value_template: "{{ value_json.state }}" }),
    sensor("limit", "Current limit", {
      value_template: "{{ value_json.limit }}",
      unit_of_measurement: "A",
      device_class: "current",
      json_attributes_topic: st,
      json_attributes_template: "{{ {'reason': value_json.limit_reason} | tojson }}",
    }),
    {
      topic: `${cfg.discoveryPrefix}/number/${node}/limit/config`,
      payload: JSON.stringify({
        name: "Charging limit",
        unique_id: `${node}_limit_set`,
        command_topic: `${base}/cmd/limit`,
        state_topic: st,
        value_template: "{{ value_json.limit }}",
        min: 0,
        max: cfg.maxAmps,
        step: 1,
        unit_of_measurement: "A",
        mode: "slider",
        ...common,
      }),
    },
    {
      topic: `${cfg.discoveryPrefix}/switch/${node}/pause/config`,
      payload: JSON.stringify({
        name: "Pause charging",
        unique_id: `${node}_pause`,
        command_topic: `${base}/cmd/pause`,
        state_topic: st,
        value_template: "{{ value_json.paused }}",
        payload_on: "ON",
        payload_off: "OFF",
        state_on: "ON",
        state_off: "OFF",
        ...common,
      }),
    },
  ];
}
