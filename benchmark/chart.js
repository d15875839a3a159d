'use strict'
// The scaling chart: total ops/s against processes, one line per key mode,
// drawn by vega-lite + vega headless (no browser, no canvas).

/**
 * @param {{processes: number, mode: string, opsPerSec: number}[]} rows
 * @param {{title: string, subtitle?: string}} text
 * @returns {Promise<string>} an SVG document
 */
async function scalingSvg(rows, text) {
  const vega = await import('vega')
  const vegaLite = await import('vega-lite')
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: { text: text.title, subtitle: text.subtitle ?? '' },
    width: 520,
    height: 320,
    background: 'white',
    data: { values: rows.map((r) => ({ ...r, mops: r.opsPerSec / 1e6 })) },
    mark: { type: 'line', point: { size: 60, filled: true }, strokeWidth: 2 },
    encoding: {
      x: {
        field: 'processes',
        type: 'quantitative',
        scale: { type: 'log', base: 2, domain: [1, 8] },
        axis: { values: [1, 2, 4, 8], title: 'processes', format: 'd' },
      },
      y: {
        field: 'mops',
        type: 'quantitative',
        scale: { type: 'log' },
        axis: { title: 'total operations per second (millions, log scale)' },
      },
      color: { field: 'mode', type: 'nominal', title: 'dict.add(key, 1n) on', legend: { orient: 'bottom', direction: 'horizontal', labelLimit: 400 } },
      tooltip: [{ field: 'processes' }, { field: 'mode' }, { field: 'mops', format: '.2f' }],
    },
  }
  const view = new vega.View(vega.parse(vegaLite.compile(spec).spec), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  return svg
}

module.exports = { scalingSvg }
