import { describe, expect, it } from 'vitest';
import { parseWireTable, WireTableSyntaxError } from '../scripts/wire-table.mjs';

const header =
  '## package `demo.v1`\n\n### service `DemoService`\n- GetThing(GetThingRequest) → Thing\n\n### messages\n\n';

describe('wire table parser', () => {
  it('reads labels, oneofs, nested names, empty messages and enums', () => {
    const table = parseWireTable(
      header +
        '- **GetThingRequest**: (empty)\n' +
        '- **Thing**: 3 tags []string; 1 id optional uint32; 2 kind Thing.Kind (oneof body); 4 ts google.protobuf.Timestamp\n' +
        '\n### enums\n\n- **Thing.Kind**: KIND_UNSPECIFIED=0, KIND_BIG=256\n',
    );
    expect(table.packages['demo.v1']).toEqual({
      services: {
        DemoService: [
          {
            name: 'GetThing',
            path: '/demo.v1.DemoService/GetThing',
            requestType: 'demo.v1.GetThingRequest',
            responseType: 'demo.v1.Thing',
          },
        ],
      },
      messages: {
        'demo.v1.GetThingRequest': [],
        'demo.v1.Thing': [
          { number: 1, name: 'id', type: 'uint32', label: 'proto3_optional' },
          { number: 2, name: 'kind', type: 'demo.v1.Thing.Kind', label: 'singular', oneof: 'body' },
          { number: 3, name: 'tags', type: 'string', label: 'repeated' },
          { number: 4, name: 'ts', type: 'google.protobuf.Timestamp', label: 'singular' },
        ],
      },
      enums: {
        'demo.v1.Thing.Kind': [
          { name: 'KIND_UNSPECIFIED', number: 0 },
          { name: 'KIND_BIG', number: 256 },
        ],
      },
    });
  });

  it('a field it cannot read is an error naming the line', () => {
    expect(() =>
      parseWireTable(header + '- **GetThingRequest**: (empty)\n- **Thing**: one id string\n'),
    ).toThrow(WireTableSyntaxError);
    expect(() =>
      parseWireTable(header + '- **GetThingRequest**: (empty)\n- **Thing**: one id string\n'),
    ).toThrow(/line 9: cannot parse field "one id string"/);
  });

  it('a reference to a type the table does not define is an error', () => {
    expect(() =>
      parseWireTable(header + '- **GetThingRequest**: 1 x Missing\n- **Thing**: (empty)\n'),
    ).toThrow(/demo\.v1\.GetThingRequest\.x: unknown type demo\.v1\.Missing/);
  });
});
