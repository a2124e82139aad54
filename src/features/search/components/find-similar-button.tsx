import { Button } from '@/components/ui/button';
import { SparklesIcon } from '@/components/ui/icons';
import { search } from '../search-service';

/** "Find similar" for one image (the loupe, the info panel) or a selection. */
export function FindSimilarButton({ ids, label, variant = 'ghost', compact = false }: { ids: string[]; label: string; variant?: 'ghost' | 'secondary'; compact?: boolean }) {
  return (
    <Button variant={variant} icon={<SparklesIcon size={14} />} onClick={() => void search.findSimilar(ids, label)} data-testid="find-similar" title="Show the images that look most like this">
      {compact ? <span className="hidden sm:inline">Similar</span> : 'Find similar'}
    </Button>
  );
}
