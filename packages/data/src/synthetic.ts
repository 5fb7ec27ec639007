import { Rng } from '@allmrec/core';
import type { RawData, RawInteraction, RawItemMeta } from './raw';

/** Options of {@link generateSynthetic}. */
export interface SyntheticOptions {
  numUsers?: number;
  numItems?: number;
  numTopics?: number;
  meanSequenceLength?: number;
  seed?: number;
}

const TOPICS: [string, string[]][] = [
  ['Mystery', ['Mystery', 'Detective', 'Clue', 'Alibi', 'Secret']],
  ['Space', ['Starship', 'Orbit', 'Nebula', 'Comet', 'Galaxy']],
  ['Cooking', ['Kitchen', 'Recipe', 'Spice', 'Feast', 'Oven']],
  ['Ocean', ['Tide', 'Reef', 'Voyage', 'Anchor', 'Current']],
  ['Western', ['Frontier', 'Saloon', 'Outlaw', 'Canyon', 'Ranch']],
  ['Fantasy', ['Dragon', 'Wizard', 'Realm', 'Spell', 'Quest']],
  ['Romance', ['Heart', 'Kiss', 'Promise', 'Letter', 'Wedding']],
  ['Horror', ['Haunting', 'Shadow', 'Crypt', 'Curse', 'Nightmare']],
  ['Sports', ['Stadium', 'Champion', 'Goal', 'League', 'Trophy']],
  ['History', ['Empire', 'Dynasty', 'Chronicle', 'Crown', 'Legion']],
  ['Music', ['Melody', 'Rhythm', 'Chorus', 'Ballad', 'Anthem']],
  ['Gardening', ['Garden', 'Blossom', 'Seed', 'Orchard', 'Meadow']],
  ['Robots', ['Robot', 'Circuit', 'Android', 'Machine', 'Protocol']],
  ['Pirates', ['Pirate', 'Treasure', 'Cutlass', 'Parrot', 'Plunder']],
  ['Travel', ['Journey', 'Passport', 'Road', 'Compass', 'Map']],
  ['Comedy', ['Laugh', 'Prank', 'Joke', 'Giggle', 'Caper']],
  ['War', ['Battle', 'Siege', 'Trench', 'Squadron', 'Front']],
  ['Science', ['Atom', 'Laboratory', 'Theory', 'Formula', 'Experiment']],
  ['Crime', ['Heist', 'Gangster', 'Vault', 'Getaway', 'Syndicate']],
  ['Nature', ['Forest', 'River', 'Mountain', 'Wolf', 'Glacier']],
  ['Art', ['Canvas', 'Portrait', 'Sculpture', 'Gallery', 'Palette']],
  ['Mythology', ['Titan', 'Oracle', 'Olympus', 'Myth', 'Hero']],
  ['Spy', ['Agent', 'Cipher', 'Dossier', 'Mole', 'Embassy']],
  ['Family', ['Home', 'Sibling', 'Reunion', 'Holiday', 'Grandma']],
  ['Racing', ['Engine', 'Turbo', 'Circuit', 'Pitstop', 'Finish']],
  ['Medicine', ['Clinic', 'Surgeon', 'Remedy', 'Ward', 'Cure']],
  ['Winter', ['Snow', 'Frost', 'Blizzard', 'Sled', 'Ice']],
  ['Desert', ['Dune', 'Oasis', 'Mirage', 'Caravan', 'Sand']],
  ['Cyber', ['Hacker', 'Network', 'Firewall', 'Code', 'Neon']],
  ['Dance', ['Ballet', 'Tango', 'Waltz', 'Stage', 'Rehearsal']],
  ['Islands', ['Island', 'Lagoon', 'Palm', 'Volcano', 'Castaway']],
  ['Trains', ['Railway', 'Locomotive', 'Station', 'Express', 'Carriage']],
  ['Birds', ['Falcon', 'Feather', 'Nest', 'Owl', 'Migration']],
  ['Chess', ['Gambit', 'Bishop', 'Checkmate', 'Pawn', 'Endgame']],
  ['Cities', ['Metropolis', 'Avenue', 'Skyline', 'Subway', 'Plaza']],
  ['Farming', ['Harvest', 'Barn', 'Tractor', 'Field', 'Cattle']],
  ['Magic', ['Illusion', 'Trick', 'Wand', 'Mystic', 'Vanish']],
  ['Knights', ['Knight', 'Castle', 'Shield', 'Joust', 'Squire']],
  ['Aviation', ['Pilot', 'Runway', 'Propeller', 'Hangar', 'Altitude']],
  ['Dinosaurs', ['Raptor', 'Fossil', 'Jurassic', 'Tyrant', 'Swamp']],
];
const ADJECTIVES = [
  'Crimson', 'Silent', 'Golden', 'Hidden', 'Broken', 'Eternal', 'Wild', 'Lost', 'Bright', 'Iron',
  'Velvet', 'Frozen', 'Burning', 'Midnight', 'Silver', 'Emerald', 'Forgotten', 'Restless', 'Gentle', 'Scarlet',
];
const PLACES = [
  'Harbor', 'Valley', 'Tower', 'Garden', 'Bridge', 'Lantern', 'Kingdom', 'Island', 'Street', 'Forest',
  'Mirror', 'Circle', 'Crown', 'Path', 'Window', 'Shore', 'Gate', 'Hollow', 'Summit', 'Station',
];
const NUMERALS = ['', ' II', ' III', ' IV', ' V', ' VI', ' VII', ' VIII', ' IX', ' X'];

/**
 * SYNTHETIC data (not real users): a deterministic catalog and population where both the
 * collaborative order and the item text carry signal. Each item belongs to one latent topic
 * (default 30) and has topic words in its title ("Crimson Harbor Mystery") and description.
 * Each topic has its own item order; users prefer 1-3 topics and their sequences follow a Markov
 * chain: the next item usually stays in the current topic and moves 1-3 steps forward in that
 * topic's order, sometimes switches to another preferred topic, rarely jumps anywhere.
 * Defaults: 1,000 users x 800 items, about 40 items per user (uniform 20..60), seed 42.
 * The same options give byte-identical output.
 */
export function generateSynthetic(options: SyntheticOptions = {}): RawData {
  const numUsers = options.numUsers ?? 1000;
  const numItems = options.numItems ?? 800;
  const numTopics = Math.max(1, Math.min(options.numTopics ?? 30, TOPICS.length));
  const meanLen = options.meanSequenceLength ?? 40;
  const seed = options.seed ?? 42;
  if (numItems < numTopics) throw new RangeError(`synthetic: numItems (${numItems}) must be >= numTopics (${numTopics})`);
  const rng = new Rng(seed);
  const catalogRng = rng.fork('catalog');
  const userRng = rng.fork('users');

  // Catalog: topic of each item (balanced), topic-specific orders, titles and descriptions.
  const topicOf = new Int32Array(numItems);
  for (let i = 0; i < numItems; i++) topicOf[i] = i % numTopics;
  catalogRng.shuffle(topicOf);
  const members: number[][] = Array.from({ length: numTopics }, () => []);
  for (let i = 0; i < numItems; i++) members[topicOf[i]].push(i);
  for (const m of members) catalogRng.shuffle(m);
  const posInTopic = new Int32Array(numItems);
  members.forEach((m) => m.forEach((item, k) => (posInTopic[item] = k)));

  const items = new Map<string, RawItemMeta>();
  const usedTitles = new Set<string>();
  const keyOf = (i: number) => `item${String(i + 1).padStart(4, '0')}`;
  for (let i = 0; i < numItems; i++) {
    const [topic, words] = TOPICS[topicOf[i]];
    let title = '';
    for (let attempt = 0; ; attempt++) {
      const base = `${ADJECTIVES[catalogRng.int(ADJECTIVES.length)]} ${PLACES[catalogRng.int(PLACES.length)]} ${words[catalogRng.int(words.length)]}`;
      const t = base + (attempt < 20 ? '' : NUMERALS[Math.min(NUMERALS.length - 1, Math.floor(attempt / 20))] + (attempt >= 200 ? ` ${attempt}` : ''));
      if (!usedTitles.has(t)) {
        title = t;
        break;
      }
    }
    usedTitles.add(title);
    const a = catalogRng.int(words.length);
    const b = (a + 1 + catalogRng.int(words.length - 1)) % words.length;
    const w1 = words[a].toLowerCase();
    const w2 = words[b].toLowerCase();
    items.set(keyOf(i), {
      title,
      description: `A ${topic.toLowerCase()} title about the ${w1} and the ${w2}. Part ${posInTopic[i] + 1} of the ${topic} collection.`,
    });
  }

  // Users: preferred topics and Markov-chain sequences.
  const interactions: RawInteraction[] = [];
  const lo = Math.max(3, Math.round(meanLen / 2));
  const hi = Math.max(lo, Math.round(meanLen * 1.5));
  const steps = [1, 1, 1, 1, 2, 2, 2, 3, 3, -1];
  for (let u = 0; u < numUsers; u++) {
    const nPref = 1 + userRng.int(Math.min(3, numTopics));
    const prefs: number[] = [];
    while (prefs.length < nPref) {
      const t = userRng.int(numTopics);
      if (!prefs.includes(t)) prefs.push(t);
    }
    const len = Math.min(userRng.intRange(lo, hi), numItems);
    const seen = new Set<number>();
    let topic = prefs[0];
    let item = members[topic][userRng.int(members[topic].length)];
    let time = 1_600_000_000 + userRng.int(10_000_000);
    const userKey = `user${String(u + 1).padStart(5, '0')}`;
    // First unseen item of `t` walking forward from position `from` (wrapping), or -1.
    const walk = (t: number, from: number): number => {
      const m = members[t];
      for (let d = 0; d < m.length; d++) {
        const cand = m[(((from + d) % m.length) + m.length) % m.length];
        if (!seen.has(cand)) return cand;
      }
      return -1;
    };
    for (let k = 0; k < len; k++) {
      if (k > 0) {
        const r = userRng.next();
        let next = -1;
        if (r < 0.8) {
          next = walk(topic, posInTopic[item] + steps[userRng.int(steps.length)]);
        } else if (r < 0.95) {
          topic = prefs[userRng.int(prefs.length)];
          next = walk(topic, userRng.int(members[topic].length));
        } else {
          for (let tries = 0; tries < 20 && next < 0; tries++) {
            const cand = userRng.int(numItems);
            if (!seen.has(cand)) next = cand;
          }
        }
        // Topic exhausted: another preferred topic, else the user picks up a new topic.
        for (let t = 0; next < 0 && t < prefs.length; t++) {
          topic = prefs[(t + userRng.int(prefs.length)) % prefs.length];
          next = walk(topic, userRng.int(members[topic].length));
        }
        while (next < 0) {
          topic = userRng.int(numTopics);
          next = walk(topic, userRng.int(members[topic].length));
          if (next >= 0 && !prefs.includes(topic)) prefs.push(topic);
        }
        item = next;
        if (prefs.includes(topicOf[item])) topic = topicOf[item];
      }
      seen.add(item);
      time += 3600 + userRng.int(86400);
      interactions.push({ user: userKey, item: keyOf(item), rating: 5, time, order: interactions.length });
    }
  }
  return {
    name: `synthetic-${seed}`,
    interactions,
    items,
    domain: 'generic',
    files: [],
    hasTime: true,
    notes: [`SYNTHETIC data: ${numUsers} users, ${numItems} items, ${numTopics} topics, seed ${seed}`],
  };
}
