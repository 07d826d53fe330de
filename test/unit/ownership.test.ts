import { describe, expect, it } from 'vitest';
import { entityId, isOwned, ownershipTags, uuidv5 } from '../../shared/kong/ownership.js';

describe('uuidv5', () => {
  it('matches the RFC 4122 reference vector for the DNS namespace', () => {
    // python3 -c "import uuid; print(uuid.uuid5(uuid.NAMESPACE_DNS, 'www.example.com'))"
    expect(uuidv5('www.example.com', '6ba7b810-9dad-11d1-80b4-00c04fd430c8')).toBe(
      '2ed6657d-e927-568b-95e1-2665a8aea6a2',
    );
  });
});

describe('entityId', () => {
  it('is deterministic per instance, kind and natural key', () => {
    expect(entityId('prod', 'service', 'orders')).toBe(entityId('prod', 'service', 'orders'));
    expect(entityId('prod', 'service', 'orders')).not.toBe(entityId('prod', 'route', 'orders'));
    expect(entityId('prod', 'service', 'orders')).not.toBe(entityId('staging', 'service', 'orders'));
  });
});

describe('isOwned', () => {
  it('needs both ownership tags of this instance', () => {
    expect(isOwned({ tags: [...ownershipTags('prod'), 'team:x'] }, 'prod')).toBe(true);
    expect(isOwned({ tags: ['managed-by:meshgate'] }, 'prod')).toBe(false);
    expect(isOwned({ tags: ownershipTags('staging') }, 'prod')).toBe(false);
    expect(isOwned({ tags: null }, 'prod')).toBe(false);
  });
});
