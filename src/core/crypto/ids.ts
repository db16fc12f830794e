import { generateSecret } from './secrets';

/** Opaque ids such as `ten_…`, `ins_…`, `key_…`: a type prefix and 20 random base62 characters. */
export function newId(
  prefix: 'ten' | 'ins' | 'key' | 'dom' | 'itk' | 'adm' | 'evt' | 'usg' | 'ub' | 'rtk',
): string {
  return generateSecret(`${prefix}_`, 20);
}
