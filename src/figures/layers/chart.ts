/** The Vega-Lite spec of the layers figure: one MI matrix (layer x layer heatmap) per network and epoch. */

/** A cell of the heatmap: both (a, b) and (b, a) of a measured pair, so each matrix is drawn whole. */
export interface MatrixCell {
  network: string;
  epoch: number;
  row: number;
  col: number;
  mi: number;
}

/** Rows of the grid: networks (in `networks` order); columns: the chosen epochs; one colour scale for all. */
export function layersSpec(cells: MatrixCell[], networks: string[], title: string): object {
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title,
    data: { values: cells },
    facet: {
      row: { field: 'network', type: 'nominal', title: null, sort: networks, header: { labelAngle: 0, labelAlign: 'left' } },
      column: { field: 'epoch', type: 'ordinal', title: 'epoch', sort: 'ascending' },
    },
    spec: {
      width: 130,
      height: 130,
      layer: [
        {
          mark: { type: 'rect' },
          encoding: {
            x: { field: 'col', type: 'ordinal', title: 'layer' },
            y: { field: 'row', type: 'ordinal', title: 'layer' },
            color: { field: 'mi', type: 'quantitative', title: 'MI (bits)', scale: { scheme: 'viridis' } },
          },
        },
        {
          mark: { type: 'text', fontSize: 8 },
          encoding: {
            x: { field: 'col', type: 'ordinal' },
            y: { field: 'row', type: 'ordinal' },
            text: { field: 'mi', type: 'quantitative', format: '.1f' },
            color: { value: 'white' },
          },
        },
      ],
    },
  };
}
