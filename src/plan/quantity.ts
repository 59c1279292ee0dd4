// Kubernetes resource quantities ("500m", "1Gi", "1.5", "2e3") as plain numbers, so workload
// requests can be written exactly as in a Deployment. The grammar is apimachinery's
// resource.Quantity: a signed decimal, then a binary suffix (Ki..Ei), a decimal suffix (n, u, m,
// k, M, G, T, P, E) or an exponent (e3, E-2).
const binarySuffixes: Record<string, number> = {
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

const decimalSuffixes: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
};

const quantityPattern = /^([+-]?(?:\d+\.?\d*|\.\d+))(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?\d+)?$/;

/** The quantity's value in base units (cores, bytes), or undefined when it is not a quantity. */
export function parseQuantity(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  const match = quantityPattern.exec(value);
  if (!match) return undefined;
  const number = Number(match[1]);
  const suffix = match[2] ?? '';
  const binary = binarySuffixes[suffix];
  if (binary !== undefined) return number * binary;
  const decimal = decimalSuffixes[suffix];
  if (decimal !== undefined) return number * decimal;
  return number * 10 ** Number(suffix.slice(1));
}
