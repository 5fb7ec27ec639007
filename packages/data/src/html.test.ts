import { cleanDescription, cleanTitle, decodeHtmlEntities, firstLine, stripHtmlTags } from './html';

describe('HTML cleaning', () => {
  test('named and numeric entities, once', () => {
    expect(decodeHtmlEntities('Tom &amp; Jerry &quot;Gold&quot; &#39;99&nbsp;&copy; &#123; &#x1F600; &#X41;')).toBe('Tom & Jerry "Gold" \'99 © { 😀 A');
    expect(decodeHtmlEntities('&amp;lt; &bogus; & alone &#xZZ;')).toBe('&lt; &bogus; & alone &#xZZ;');
  });
  test('tags are stripped, block tags become line breaks', () => {
    expect(stripHtmlTags('<p>One <b>two</b></p><br/>Three<li>Four')).toBe('\nOne  two \n\nThree\nFour');
    expect(cleanDescription(['<div>A &amp; B</div>', '', 'C<br>D'])).toBe('A & B\nC\nD');
    expect(cleanTitle('  Fire Emblem &#8211;\n GBA ')).toBe('Fire Emblem – GBA');
    expect(firstLine(cleanDescription('<p></p>  <p>Real first</p>'))).toBe('Real first');
    expect(stripHtmlTags('5 < 6 and 7 > 3')).toBe('5 < 6 and 7 > 3');
  });
});
