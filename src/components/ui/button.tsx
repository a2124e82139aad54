import type { ButtonHTMLAttributes, ReactNode } from 'react';

type Variant = 'primary' | 'secondary' | 'ghost' | 'danger';
const VARIANTS: Record<Variant, string> = {
  primary: 'bg-amber-500 text-neutral-950 hover:bg-amber-400 font-medium',
  secondary: 'bg-neutral-800 text-neutral-100 hover:bg-neutral-700 border border-neutral-700',
  ghost: 'text-neutral-300 hover:bg-neutral-800 hover:text-neutral-50',
  danger: 'bg-red-600 text-white hover:bg-red-500 font-medium',
};

export function Button({ variant = 'secondary', className = '', icon, children, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: Variant; icon?: ReactNode }) {
  return (
    <button
      type="button"
      className={`inline-flex h-8 items-center gap-1.5 rounded-md px-3 text-sm pointer-coarse:h-11 transition-colors outline-none focus-visible:ring-2 focus-visible:ring-amber-400/70 disabled:cursor-not-allowed disabled:opacity-40 ${VARIANTS[variant]} ${className}`}
      {...rest}
    >
      {icon}
      {children}
    </button>
  );
}

export function IconButton({ label, active, className = '', children, ...rest }: ButtonHTMLAttributes<HTMLButtonElement> & { label: string; active?: boolean }) {
  return (
    <button
      type="button"
      aria-label={label}
      title={label}
      aria-pressed={active}
      className={`inline-flex h-8 w-8 items-center justify-center rounded-md pointer-coarse:h-11 pointer-coarse:w-11 transition-colors outline-none focus-visible:ring-2 focus-visible:ring-amber-400/70 disabled:opacity-40 ${active ? 'bg-neutral-700 text-amber-300' : 'text-neutral-400 hover:bg-neutral-800 hover:text-neutral-100'} ${className}`}
      {...rest}
    >
      {children}
    </button>
  );
}
