import { type EntityDef, staticSchema } from './entity.js';
import { atLeastOneOf, type Fields } from './fields.js';
import { id, tags, timestamp } from './typedefs.js';

const fields: Fields = {
  id,
  created_at: timestamp,
  updated_at: timestamp,
  username: { type: 'string' },
  custom_id: { type: 'string' },
  tags,
};

export const consumers: EntityDef = {
  name: 'consumers',
  adminName: 'consumers',
  nestedName: 'consumers',
  endpointKey: 'username',
  uniqueFields: ['username', 'custom_id'],
  foreignKeys: [],
  timestamps: { updated: true, float: false },
  schemaFor: staticSchema(fields, [atLeastOneOf(['custom_id', 'username'])]),
};
