import { useEffect, useImperativeHandle, useRef, useState, type Ref } from 'react';
import { Button } from '@/components/ui/button';

export interface SketchPadHandle {
  /** the drawing as a PNG blob, or undefined when nothing was drawn */
  toBlob(): Promise<Blob | undefined>;
}

const COLORS = ['#111111', '#f5f5f5', '#ef4444', '#f59e0b', '#22c55e', '#3b82f6', '#a855f7', '#8b5a2b'];

/** A small drawing surface for Sketch mode: pointer drawing, colours, brush size, clear, load a picture. */
export function SketchPad({ width, height, ref }: { width: number; height: number; ref?: Ref<SketchPadHandle> }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  const drawing = useRef<{ x: number; y: number } | null>(null);
  const [color, setColor] = useState(COLORS[0]!);
  const [brush, setBrush] = useState(6);
  const [dirty, setDirty] = useState(false);

  const clear = () => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.fillStyle = '#ffffff';
    ctx.fillRect(0, 0, width, height);
    setDirty(false);
  };
  useEffect(clear, [width, height]); // eslint-disable-line react-hooks/exhaustive-deps

  useImperativeHandle(ref, () => ({
    toBlob: () =>
      new Promise((resolve) => {
        if (!dirty || !canvas.current) return resolve(undefined);
        canvas.current.toBlob((b) => resolve(b ?? undefined), 'image/png');
      }),
  }));

  const point = (e: React.PointerEvent) => {
    const r = canvas.current!.getBoundingClientRect();
    return { x: ((e.clientX - r.left) / r.width) * width, y: ((e.clientY - r.top) / r.height) * height };
  };

  const line = (from: { x: number; y: number }, to: { x: number; y: number }) => {
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    ctx.strokeStyle = color;
    ctx.lineWidth = brush * (width / 512);
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(from.x, from.y);
    ctx.lineTo(to.x, to.y);
    ctx.stroke();
  };

  const loadPicture = async (file: File) => {
    const bmp = await createImageBitmap(file);
    const ctx = canvas.current?.getContext('2d');
    if (!ctx) return;
    clear();
    const s = Math.min(width / bmp.width, height / bmp.height);
    ctx.drawImage(bmp, (width - bmp.width * s) / 2, (height - bmp.height * s) / 2, bmp.width * s, bmp.height * s);
    bmp.close();
    setDirty(true);
  };

  return (
    <div className="flex flex-col gap-2">
      <canvas
        ref={canvas}
        width={width}
        height={height}
        data-testid="sketch-canvas"
        className="max-h-72 w-full cursor-crosshair touch-none rounded-md border border-neutral-700 bg-white object-contain"
        style={{ aspectRatio: `${width} / ${height}` }}
        onPointerDown={(e) => {
          e.currentTarget.setPointerCapture(e.pointerId);
          const p = point(e);
          drawing.current = p;
          line(p, p);
          setDirty(true);
        }}
        onPointerMove={(e) => {
          if (!drawing.current) return;
          const p = point(e);
          line(drawing.current, p);
          drawing.current = p;
        }}
        onPointerUp={() => (drawing.current = null)}
        onPointerCancel={() => (drawing.current = null)}
      />
      <div className="flex flex-wrap items-center gap-2">
        {COLORS.map((c) => (
          <button
            key={c}
            type="button"
            aria-label={`Colour ${c}`}
            onClick={() => setColor(c)}
            className={`h-5 w-5 rounded-full border ${color === c ? 'ring-2 ring-amber-400 ring-offset-1 ring-offset-neutral-900' : 'border-neutral-600'}`}
            style={{ background: c }}
          />
        ))}
        <label className="ml-2 flex items-center gap-1 text-xs text-neutral-400">
          Brush
          <input type="range" min={1} max={40} value={brush} onChange={(e) => setBrush(Number(e.target.value))} className="w-20 accent-amber-500" />
        </label>
        <div className="ml-auto flex gap-2">
          <label className="inline-flex h-8 cursor-pointer items-center rounded-md border border-neutral-700 bg-neutral-800 px-3 text-sm text-neutral-100 hover:bg-neutral-700">
            Load sketch…
            <input type="file" accept="image/*" className="hidden" onChange={(e) => e.target.files?.[0] && void loadPicture(e.target.files[0])} />
          </label>
          <Button variant="ghost" onClick={clear}>
            Clear
          </Button>
        </div>
      </div>
    </div>
  );
}
