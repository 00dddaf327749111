// A small TypeScript file to inspect: select a few lines and run SeqLens on them.
interface Shape {
  readonly kind: string;
  area(): number;
}

class Circle implements Shape {
  readonly kind = "circle";
  constructor(private readonly radius: number) {}
  area(): number {
    return Math.PI * this.radius ** 2;
  }
}

export function totalArea(shapes: readonly Shape[]): number {
  return shapes.reduce((sum, s) => sum + s.area(), 0);
}
