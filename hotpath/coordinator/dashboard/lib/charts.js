// TradingView lightweight-charts as preact components: a line/area chart (equity, drawdown) and a
// candlestick chart with trade markers. Times are epoch milliseconds in, UTC seconds to the chart.

import {
  AreaSeries,
  CandlestickSeries,
  ColorType,
  createChart,
  createSeriesMarkers,
  LineSeries,
} from "../vendor/lightweight-charts.mjs";
import { useEffect, useRef } from "../vendor/preact-hooks.mjs";
import { html } from "../vendor/htm-preact.mjs";

const theme = {
  layout: { background: { type: ColorType.Solid, color: "#11161f" }, textColor: "#c9d1d9", fontSize: 11 },
  grid: { vertLines: { color: "#1d2430" }, horzLines: { color: "#1d2430" } },
  rightPriceScale: { borderColor: "#2b3442" },
  timeScale: { borderColor: "#2b3442", timeVisible: true, secondsVisible: false },
  autoSize: true,
};

/** Points sorted by time with one value per second (the chart's resolution), later points winning. */
export function toSeconds(points) {
  const bySecond = new Map();
  for (const p of points) {
    if (!Number.isFinite(p.time) || !Number.isFinite(p.value)) continue;
    bySecond.set(Math.floor(p.time / 1000), p.value);
  }
  return [...bySecond.entries()].sort((a, b) => a[0] - b[0]).map(([time, value]) => ({ time, value }));
}

function useChart(ref, build) {
  const chartRef = useRef();
  useEffect(() => {
    const chart = createChart(ref.current, theme);
    chartRef.current = { chart, ...build(chart) };
    return () => {
      chart.remove();
      chartRef.current = undefined;
    };
  }, []);
  return chartRef;
}

/**
 * A line (or area) series of [{time: ms, value}]. `id` names the chart's element for tests; the
 * element carries `data-points` with the number of points drawn.
 */
export function LineChart({ points, id, area = false, color = "#3fb950", height = 260, percent = false }) {
  const ref = useRef();
  const chart = useChart(ref, (c) => {
    const options = {
      lineWidth: 2,
      priceFormat: percent ? { type: "percent" } : { type: "price", precision: 2, minMove: 0.01 },
    };
    const series = area
      ? c.addSeries(AreaSeries, {
          ...options,
          lineColor: color,
          topColor: `${color}55`,
          bottomColor: `${color}05`,
        })
      : c.addSeries(LineSeries, { ...options, color });
    return { series };
  });
  const data = toSeconds(points ?? []);
  useEffect(() => {
    if (chart.current === undefined) return;
    chart.current.series.setData(data);
    if (data.length > 0) chart.current.chart.timeScale().fitContent();
  }, [points]);
  return html`<div class="chart" id=${id} data-points=${data.length} style=${`height:${height}px`} ref=${ref}></div>`;
}

/**
 * Candles [{ts, open, high, low, close}] with markers [{time: ms, side: buy|sell, text}]. New candles
 * with the same or a later time update the series in place (the live feed).
 */
export function CandleChart({ candles, markers = [], id, height = 360 }) {
  const ref = useRef();
  const chart = useChart(ref, (c) => {
    const series = c.addSeries(CandlestickSeries, {
      upColor: "#3fb950",
      downColor: "#f85149",
      wickUpColor: "#3fb950",
      wickDownColor: "#f85149",
      borderVisible: false,
    });
    return { series, markers: createSeriesMarkers(series, []), count: 0 };
  });
  const bars = [];
  const seen = new Map();
  for (const k of candles ?? []) {
    const time = Math.floor(k.ts / 1000);
    seen.set(time, { time, open: k.open, high: k.high, low: k.low, close: k.close });
  }
  for (const v of [...seen.values()].sort((a, b) => a.time - b.time)) bars.push(v);
  useEffect(() => {
    const c = chart.current;
    if (c === undefined) return;
    c.series.setData(bars);
    if (c.count === 0 && bars.length > 0) c.chart.timeScale().fitContent();
    c.count = bars.length;
  }, [candles]);
  useEffect(() => {
    const c = chart.current;
    if (c === undefined || bars.length === 0) return;
    const first = bars[0].time;
    const last = bars[bars.length - 1].time;
    // A marker sits on the bar that contains its time (lightweight-charts wants an existing bar time).
    const snapped = markers
      .map((m) => ({ ...m, t: Math.floor(m.time / 1000) }))
      .filter((m) => m.t >= first && m.t <= last + 60)
      .map((m) => {
        let at = first;
        for (const b of bars) if (b.time <= m.t) at = b.time;
        return {
          time: at,
          position: m.side === "buy" ? "belowBar" : "aboveBar",
          color: m.side === "buy" ? "#3fb950" : "#f85149",
          shape: m.side === "buy" ? "arrowUp" : "arrowDown",
          text: m.text ?? m.side,
        };
      })
      .sort((a, b) => a.time - b.time);
    c.markers.setMarkers(snapped);
  }, [candles, markers]);
  return html`<div class="chart" id=${id} data-bars=${bars.length} data-markers=${markers.length}
    style=${`height:${height}px`} ref=${ref}></div>`;
}
