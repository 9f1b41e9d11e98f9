/**
 * The partition the environment is built for, and where it is built (here or as a Slurm job).
 */
import React from 'react';

import { FieldError } from '../common';
import { IFieldProps } from './fields';

/**
 * The "Partition" choice.
 */
export function PartitionField(props: IFieldProps): React.ReactElement | null {
  const { model, trans, ids, describe } = props;
  const site = model.site;
  if (!site) {
    return null;
  }
  const errors = model.fieldErrors;
  const partition = site.partitions.find(p => p.name === model.partition);
  return (
    <div className="jp-HpcEnvs-field">
      <label htmlFor={ids('partition')}>{trans.__('Partition')}</label>
      <select
        id={ids('partition')}
        className="jp-mod-styled jp-HpcEnvs-partition"
        value={model.partition}
        aria-invalid={errors.partition ? true : undefined}
        aria-describedby={describe('partition', ids('partition-hint'))}
        onChange={event => model.setPartition(event.target.value)}
      >
        {site.partitions.map(p => (
          <option key={p.name} value={p.name} disabled={!p.available}>
            {p.name}
            {p.arch && p.arch !== p.name ? ` (${p.arch})` : ''}
            {p.name === site.partition ? ` — ${trans.__('this server')}` : ''}
            {p.available ? '' : ` — ${trans.__('unavailable')}`}
          </option>
        ))}
      </select>
      <AlsoPartitions {...props} />
      <div id={ids('partition-hint')} className="jp-HpcEnvs-note">
        {partition?.local
          ? trans.__('Built here, on this node (same CPU architecture).')
          : trans.__('Built as a Slurm job on a node of %1.', model.partition)}
        {partition?.description ? ` ${partition.description}` : ''}
        {partition?.origin?.kind === 'probe'
          ? ` ${trans.__('Its CPU architecture and modules: %1.', partition.origin.text)}`
          : ''}
      </div>
      {partition?.origin?.kind === 'probe' && !model.probing && !model.probeFailed ? (
        <button
          type="button"
          className="jp-mod-styled jp-HpcEnvs-probeAgain"
          title={trans.__('Learn again what %1 offers (a short Slurm job)', model.partition)}
          onClick={() => void model.probeAgain()}
        >
          {trans.__('Probe again')}
        </button>
      ) : null}
      <FieldError id={ids('partition-error')} message={errors.partition} />
    </div>
  );
}

/**
 * The other partitions to build on at once: a multi-select as checkboxes, shown when the site has
 * more than one partition.
 */
function AlsoPartitions(props: IFieldProps): React.ReactElement | null {
  const { model, trans } = props;
  const others = (model.site?.partitions ?? []).filter(
    p => p.name !== model.partition && p.available
  );
  if (!others.length) {
    return null;
  }
  return (
    <fieldset className="jp-HpcEnvs-alsoPartitions">
      <legend>{trans.__('Also build on, at once')}</legend>
      {others.map(p => (
        <label key={p.name}>
          <input
            type="checkbox"
            checked={model.alsoPartitions.includes(p.name)}
            onChange={event => model.setAlsoPartition(p.name, event.target.checked)}
          />
          {p.name}
          {p.arch && p.arch !== p.name ? ` (${p.arch})` : ''}
        </label>
      ))}
    </fieldset>
  );
}
