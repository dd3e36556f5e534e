import { useT } from "../strings";

/** "15 minutes", "hour", "6 hours", "day": an Interval in minutes, as the schedule sentences use it. */
export function useInterval(): (minutes: number) => string {
  const t = useT();
  return (minutes) => {
    if (minutes === 1) return t("interval.minute");
    if (minutes === 60) return t("interval.hour");
    if (minutes === 1440) return t("interval.day");
    if (minutes > 60 && minutes % 60 === 0) return t("interval.hours", { count: minutes / 60 });
    return t("interval.minutes", { count: Number(minutes.toFixed(2)) });
  };
}

export const dateTime = (iso: string, locale: string) =>
  new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" }).format(new Date(iso));
