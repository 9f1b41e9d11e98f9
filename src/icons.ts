/**
 * The extension's icons.
 */
import { LabIcon } from '@jupyterlab/ui-components';

import hpcEnvsSvgstr from '../style/icons/hpc-envs.svg';

/**
 * The icon of the side panel: a rack of three nodes.
 */
export const hpcEnvsIcon = new LabIcon({
  name: 'jupyterlab-hpc-envs:hpc-envs',
  svgstr: hpcEnvsSvgstr
});
