// A horizontal bar chart as a standalone SVG, for benchmark reports.
//   barChartSvg({ title, groups: [{ label, bars: [{ label, value, highlight }] }] })
const esc = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function barChartSvg({ title, groups }) {
  const width = 760;
  const labelWidth = 210;
  const barArea = width - labelWidth - 110;
  const barHeight = 22;
  let y = 44;
  const parts = [];
  for (const g of groups) {
    parts.push(`<text x="10" y="${y}" font-weight="bold">${esc(g.label)}</text>`);
    y += 12;
    const max = Math.max(...g.bars.map((b) => b.value).filter(Number.isFinite), 1);
    for (const b of g.bars) {
      const w = Number.isFinite(b.value) ? Math.max(1, (b.value / max) * barArea) : 0;
      parts.push(`<text x="${labelWidth - 8}" y="${y + 16}" text-anchor="end">${esc(b.label)}</text>`);
      parts.push(`<rect x="${labelWidth}" y="${y + 2}" width="${w.toFixed(1)}" height="${barHeight - 4}" fill="${b.highlight ? '#d9480f' : '#868e96'}"/>`);
      parts.push(`<text x="${(labelWidth + w + 6).toFixed(1)}" y="${y + 16}">${Number.isFinite(b.value) ? Math.round(b.value).toLocaleString('en-US') : 'n/a'}</text>`);
      y += barHeight;
    }
    y += 24;
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${y}" font-family="sans-serif" font-size="13">
<rect width="100%" height="100%" fill="white"/>
<text x="10" y="22" font-size="15" font-weight="bold">${esc(title)}</text>
${parts.join('\n')}
</svg>
`;
}
