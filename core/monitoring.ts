/**
 * Validation of the `monitoring` stack key (see MonitoringConfig in core/config.ts). Its own file
 * so validate.ts stays about the network and the partners.
 */
import { DEFAULTS } from "./config";
import { show, type FieldReader } from "./fields";
import type { MonitoringModel } from "./model";

/** SNS topic ARN: partition, region, 12-digit account, topic name (1-256 of letters, digits, - and _; .fifo allowed). */
const SNS_TOPIC_ARN = /^arn:aws(-[a-z]+)*:sns:[a-z]{2}(-[a-z]+)+-\d:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;

/** CloudWatch accepts 10 and 30 s (high resolution) or a multiple of 60 s for an alarm period. */
export function isAlarmPeriod(seconds: number): boolean {
    return seconds === 10 || seconds === 30 || (seconds % 60 === 0 && seconds >= 60 && seconds <= 3600);
}

export function readMonitoring(r: FieldReader, value: unknown): MonitoringModel | undefined {
    const before = r.errors.length;
    const m = r.object("monitoring", value, ["periodSeconds", "tunnelDownPeriods", "statusCheckPeriods", "alarmTopicArn", "createAlarmTopic"], false) ?? {};
    let periodSeconds = r.integer("monitoring.periodSeconds", m.periodSeconds, 10, 3600, DEFAULTS.metricsPeriodSeconds);
    if (periodSeconds !== undefined && !isAlarmPeriod(periodSeconds)) {
        periodSeconds = r.error("monitoring.periodSeconds", `${show(periodSeconds)} is not a CloudWatch alarm period; expected 10, 30 or a multiple of 60 up to 3600`);
    }
    const tunnelDownPeriods = r.integer("monitoring.tunnelDownPeriods", m.tunnelDownPeriods, 1, 60, DEFAULTS.tunnelDownPeriods);
    const statusCheckPeriods = r.integer("monitoring.statusCheckPeriods", m.statusCheckPeriods, 1, 60, DEFAULTS.statusCheckPeriods);
    const arn = r.string("monitoring.alarmTopicArn", m.alarmTopicArn, false, SNS_TOPIC_ARN, "an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME)");
    const create = r.boolean("monitoring.createAlarmTopic", m.createAlarmTopic, false);
    if (arn !== undefined && create) {
        r.error("monitoring.createAlarmTopic", "cannot be true together with monitoring.alarmTopicArn; expected one topic: an existing one (alarmTopicArn) or a new one (createAlarmTopic)");
    }
    if (r.errors.length > before || periodSeconds === undefined || tunnelDownPeriods === undefined || statusCheckPeriods === undefined) return undefined;
    const alarmTopic: MonitoringModel["alarmTopic"] = arn !== undefined ? { kind: "existing", arn } : create ? { kind: "create" } : { kind: "none" };
    return { periodSeconds, tunnelDownPeriods, statusCheckPeriods, alarmTopic };
}
