/**
 * Modules of a hierarchy (Lmod, EasyBuild's HierarchicalMNS): what the catalog says makes each one
 * visible, as the pickers show it.
 */
import { ModuleSchema } from '../api';
import { visibleAfter } from '../form/modules';

// An entry of `GET modules` on the demo site's hierarchical tree (paths cut down to /site).
const PYTHON = {
  full: 'Python/3.11.3',
  name: 'Python',
  version: '3.11.3',
  path: '/site/modules-hmns/all/Compiler/GCCcore/12.3.0/Python/3.11.3.lua',
  description: 'Python is a programming language',
  toolchain: 'GCCcore-12.3.0',
  generation: '2023a',
  parents: [['GCCcore/12.3.0']],
  python: '3.11.3'
};

describe('visibleAfter', () => {
  it('names the modules that make a module of a hierarchy visible', () => {
    expect(visibleAfter(ModuleSchema.parse(PYTHON))).toBe('GCCcore/12.3.0');
    const mpi = ModuleSchema.parse({
      ...PYTHON,
      full: 'mpi4py/3.1.4',
      parents: [['GCC/12.3.0', 'OpenMPI/4.1.5']]
    });
    expect(visibleAfter(mpi)).toBe('GCC/12.3.0 + OpenMPI/4.1.5');
  });

  it('is empty at the top of a tree and for servers that send no parents', () => {
    const flat: Record<string, unknown> = { ...PYTHON };
    delete flat.parents;
    expect(ModuleSchema.parse(flat).parents).toEqual([]);
    expect(visibleAfter(ModuleSchema.parse(flat))).toBe('');
  });
});
