// One clock on the page: times are the site's local time (China time), 24-hour, Chinese
// formats, never the browser's zone. uPlot takes these as axis values and legend format.
function aicTime(tz) {
  const parts = (secs, opts) => {
    const out = {};
    new Intl.DateTimeFormat("zh-CN", {timeZone: tz, hourCycle: "h23", ...opts})
      .formatToParts(new Date(secs * 1000)).forEach(p => { out[p.type] = p.value; });
    return out;
  };
  const full = secs => {
    const p = parts(secs, {year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
  };
  const axis = (u, splits, axisIdx, space, incr) => splits.map(secs => {
    const p = parts(secs, {month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit"});
    // Ticks a day or more apart show the date; closer ticks show the time of day.
    return incr >= 86400 ? `${p.month}-${p.day}` : `${p.hour}:${p.minute}`;
  });
  return {full, axis, xAxis: {values: axis}, xSeries: {value: (u, v) => v == null ? "-" : full(v)}};
}
