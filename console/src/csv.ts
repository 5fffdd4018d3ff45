/** The header row of a CSV file (RFC 4180 quoting), for the import's column mapping. */
export function headerOf(text: string): string[] {
  const cells: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (quoted) {
      if (char === '"' && text[i + 1] === '"') { cell += '"'; i++; }
      else if (char === '"') quoted = false;
      else cell += char;
    } else if (char === '"') quoted = true;
    else if (char === ",") { cells.push(cell); cell = ""; }
    else if (char === "\n" || char === "\r") break;
    else cell += char;
  }
  cells.push(cell);
  return cells.map((name) => name.replace(/^\uFEFF/, "").trim()).filter((name, index) => name || index === 0);
}
