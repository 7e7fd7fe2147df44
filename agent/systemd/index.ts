export { SystemdNotifier, type NotifySender, type SystemdNotifierOptions } from "./systemd-notifier.js";
export { notifySocketAddress, watchdogPingIntervalMs } from "./notify-environment.js";
export { sendNotifyDatagram } from "./notify-socket.js";
