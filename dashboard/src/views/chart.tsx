import { useEffect, useRef } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';

export interface ChartProps {
  readonly title: string;
  /** uPlot options without size and title (the chart fills its box). */
  readonly options: Omit<uPlot.Options, 'width' | 'height' | 'title'>;
  readonly data: uPlot.AlignedData;
  readonly height?: number;
}

/**
 * A uPlot chart that follows its data: created once per set of series, then only fed new data (uPlot
 * redraws in place, which keeps 1 Hz updates cheap).
 */
export function Chart({ title, options, data, height = 180 }: ChartProps) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = options.series.map((s) => s.label).join('|');

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const p = new uPlot({ ...options, title, width: el.clientWidth || 400, height }, data, el);
    plot.current = p;
    const resize = new ResizeObserver(() => p.setSize({ width: el.clientWidth || 400, height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      p.destroy();
      plot.current = null;
    };
    // Recreated only when the series change (`shape`); data alone goes through setData below.
  }, [shape, title, height]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return <div class="chart" ref={box} />;
}
