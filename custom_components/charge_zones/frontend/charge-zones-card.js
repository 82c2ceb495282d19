/* Charge Zones card 0.1.0 (built from frontend/, see scripts/build-card) */
var I=globalThis,W=I.ShadowRoot&&(I.ShadyCSS===void 0||I.ShadyCSS.nativeShadow)&&"adoptedStyleSheets"in Document.prototype&&"replace"in CSSStyleSheet.prototype,G=Symbol(),he=new WeakMap,z=class{constructor(e,t,s){if(this._$cssResult$=!0,s!==G)throw Error("CSSResult is not constructable. Use `unsafeCSS` or `css` instead.");this.cssText=e,this.t=t}get styleSheet(){let e=this.o,t=this.t;if(W&&e===void 0){let s=t!==void 0&&t.length===1;s&&(e=he.get(t)),e===void 0&&((this.o=e=new CSSStyleSheet).replaceSync(this.cssText),s&&he.set(t,e))}return e}toString(){return this.cssText}},ue=n=>new z(typeof n=="string"?n:n+"",void 0,G),M=(n,...e)=>{let t=n.length===1?n[0]:e.reduce((s,i,a)=>s+(r=>{if(r._$cssResult$===!0)return r.cssText;if(typeof r=="number")return r;throw Error("Value passed to 'css' function must be a 'css' function result: "+r+". Use 'unsafeCSS' to pass non-literal values, but take care to ensure page security.")})(i)+n[a+1],n[0]);return new z(t,n,G)},pe=(n,e)=>{if(W)n.adoptedStyleSheets=e.map(t=>t instanceof CSSStyleSheet?t:t.styleSheet);else for(let t of e){let s=document.createElement("style"),i=I.litNonce;i!==void 0&&s.setAttribute("nonce",i),s.textContent=t.cssText,n.appendChild(s)}},J=W?n=>n:n=>n instanceof CSSStyleSheet?(e=>{let t="";for(let s of e.cssRules)t+=s.cssText;return ue(t)})(n):n;var{is:Oe,defineProperty:Te,getOwnPropertyDescriptor:De,getOwnPropertyNames:Ue,getOwnPropertySymbols:Be,getPrototypeOf:Ze}=Object,F=globalThis,ge=F.trustedTypes,Ie=ge?ge.emptyScript:"",We=F.reactiveElementPolyfillSupport,k=(n,e)=>n,Q={toAttribute(n,e){switch(e){case Boolean:n=n?Ie:null;break;case Object:case Array:n=n==null?n:JSON.stringify(n)}return n},fromAttribute(n,e){let t=n;switch(e){case Boolean:t=n!==null;break;case Number:t=n===null?null:Number(n);break;case Object:case Array:try{t=JSON.parse(n)}catch{t=null}}return t}},_e=(n,e)=>!Oe(n,e),me={attribute:!0,type:String,converter:Q,reflect:!1,useDefault:!1,hasChanged:_e};Symbol.metadata??=Symbol("metadata"),F.litPropertyMetadata??=new WeakMap;var $=class extends HTMLElement{static addInitializer(e){this._$Ei(),(this.l??=[]).push(e)}static get observedAttributes(){return this.finalize(),this._$Eh&&[...this._$Eh.keys()]}static createProperty(e,t=me){if(t.state&&(t.attribute=!1),this._$Ei(),this.prototype.hasOwnProperty(e)&&((t=Object.create(t)).wrapped=!0),this.elementProperties.set(e,t),!t.noAccessor){let s=Symbol(),i=this.getPropertyDescriptor(e,s,t);i!==void 0&&Te(this.prototype,e,i)}}static getPropertyDescriptor(e,t,s){let{get:i,set:a}=De(this.prototype,e)??{get(){return this[t]},set(r){this[t]=r}};return{get:i,set(r){let o=i?.call(this);a?.call(this,r),this.requestUpdate(e,o,s)},configurable:!0,enumerable:!0}}static getPropertyOptions(e){return this.elementProperties.get(e)??me}static _$Ei(){if(this.hasOwnProperty(k("elementProperties")))return;let e=Ze(this);e.finalize(),e.l!==void 0&&(this.l=[...e.l]),this.elementProperties=new Map(e.elementProperties)}static finalize(){if(this.hasOwnProperty(k("finalized")))return;if(this.finalized=!0,this._$Ei(),this.hasOwnProperty(k("properties"))){let t=this.properties,s=[...Ue(t),...Be(t)];for(let i of s)this.createProperty(i,t[i])}let e=this[Symbol.metadata];if(e!==null){let t=litPropertyMetadata.get(e);if(t!==void 0)for(let[s,i]of t)this.elementProperties.set(s,i)}this._$Eh=new Map;for(let[t,s]of this.elementProperties){let i=this._$Eu(t,s);i!==void 0&&this._$Eh.set(i,t)}this.elementStyles=this.finalizeStyles(this.styles)}static finalizeStyles(e){let t=[];if(Array.isArray(e)){let s=new Set(e.flat(1/0).reverse());for(let i of s)t.unshift(J(i))}else e!==void 0&&t.push(J(e));return t}static _$Eu(e,t){let s=t.attribute;return s===!1?void 0:typeof s=="string"?s:typeof e=="string"?e.toLowerCase():void 0}constructor(){super(),this._$Ep=void 0,this.isUpdatePending=!1,this.hasUpdated=!1,this._$Em=null,this._$Ev()}_$Ev(){this._$ES=new Promise(e=>this.enableUpdating=e),this._$AL=new Map,this._$E_(),this.requestUpdate(),this.constructor.l?.forEach(e=>e(this))}addController(e){(this._$EO??=new Set).add(e),this.renderRoot!==void 0&&this.isConnected&&e.hostConnected?.()}removeController(e){this._$EO?.delete(e)}_$E_(){let e=new Map,t=this.constructor.elementProperties;for(let s of t.keys())this.hasOwnProperty(s)&&(e.set(s,this[s]),delete this[s]);e.size>0&&(this._$Ep=e)}createRenderRoot(){let e=this.shadowRoot??this.attachShadow(this.constructor.shadowRootOptions);return pe(e,this.constructor.elementStyles),e}connectedCallback(){this.renderRoot??=this.createRenderRoot(),this.enableUpdating(!0),this._$EO?.forEach(e=>e.hostConnected?.())}enableUpdating(e){}disconnectedCallback(){this._$EO?.forEach(e=>e.hostDisconnected?.())}attributeChangedCallback(e,t,s){this._$AK(e,s)}_$ET(e,t){let s=this.constructor.elementProperties.get(e),i=this.constructor._$Eu(e,s);if(i!==void 0&&s.reflect===!0){let a=(s.converter?.toAttribute!==void 0?s.converter:Q).toAttribute(t,s.type);this._$Em=e,a==null?this.removeAttribute(i):this.setAttribute(i,a),this._$Em=null}}_$AK(e,t){let s=this.constructor,i=s._$Eh.get(e);if(i!==void 0&&this._$Em!==i){let a=s.getPropertyOptions(i),r=typeof a.converter=="function"?{fromAttribute:a.converter}:a.converter?.fromAttribute!==void 0?a.converter:Q;this._$Em=i;let o=r.fromAttribute(t,a.type);this[i]=o??this._$Ej?.get(i)??o,this._$Em=null}}requestUpdate(e,t,s,i=!1,a){if(e!==void 0){let r=this.constructor;if(i===!1&&(a=this[e]),s??=r.getPropertyOptions(e),!((s.hasChanged??_e)(a,t)||s.useDefault&&s.reflect&&a===this._$Ej?.get(e)&&!this.hasAttribute(r._$Eu(e,s))))return;this.C(e,t,s)}this.isUpdatePending===!1&&(this._$ES=this._$EP())}C(e,t,{useDefault:s,reflect:i,wrapped:a},r){s&&!(this._$Ej??=new Map).has(e)&&(this._$Ej.set(e,r??t??this[e]),a!==!0||r!==void 0)||(this._$AL.has(e)||(this.hasUpdated||s||(t=void 0),this._$AL.set(e,t)),i===!0&&this._$Em!==e&&(this._$Eq??=new Set).add(e))}async _$EP(){this.isUpdatePending=!0;try{await this._$ES}catch(t){Promise.reject(t)}let e=this.scheduleUpdate();return e!=null&&await e,!this.isUpdatePending}scheduleUpdate(){return this.performUpdate()}performUpdate(){if(!this.isUpdatePending)return;if(!this.hasUpdated){if(this.renderRoot??=this.createRenderRoot(),this._$Ep){for(let[i,a]of this._$Ep)this[i]=a;this._$Ep=void 0}let s=this.constructor.elementProperties;if(s.size>0)for(let[i,a]of s){let{wrapped:r}=a,o=this[i];r!==!0||this._$AL.has(i)||o===void 0||this.C(i,void 0,a,o)}}let e=!1,t=this._$AL;try{e=this.shouldUpdate(t),e?(this.willUpdate(t),this._$EO?.forEach(s=>s.hostUpdate?.()),this.update(t)):this._$EM()}catch(s){throw e=!1,this._$EM(),s}e&&this._$AE(t)}willUpdate(e){}_$AE(e){this._$EO?.forEach(t=>t.hostUpdated?.()),this.hasUpdated||(this.hasUpdated=!0,this.firstUpdated(e)),this.updated(e)}_$EM(){this._$AL=new Map,this.isUpdatePending=!1}get updateComplete(){return this.getUpdateComplete()}getUpdateComplete(){return this._$ES}shouldUpdate(e){return!0}update(e){this._$Eq&&=this._$Eq.forEach(t=>this._$ET(t,this[t])),this._$EM()}updated(e){}firstUpdated(e){}};$.elementStyles=[],$.shadowRootOptions={mode:"open"},$[k("elementProperties")]=new Map,$[k("finalized")]=new Map,We?.({ReactiveElement:$}),(F.reactiveElementVersions??=[]).push("2.1.2");var ne=globalThis,fe=n=>n,j=ne.trustedTypes,be=j?j.createPolicy("lit-html",{createHTML:n=>n}):void 0,Ae="$lit$",y=`lit$${Math.random().toFixed(9).slice(2)}$`,Se="?"+y,Fe=`<${Se}>`,A=document,P=()=>A.createComment(""),N=n=>n===null||typeof n!="object"&&typeof n!="function",ae=Array.isArray,je=n=>ae(n)||typeof n?.[Symbol.iterator]=="function",X=`[ 	
\f\r]`,L=/<(?:(!--|\/[^a-zA-Z])|(\/?[a-zA-Z][^>\s]*)|(\/?$))/g,ve=/-->/g,$e=/>/g,w=RegExp(`>|${X}(?:([^\\s"'>=/]+)(${X}*=${X}*(?:[^ 	
\f\r"'\`<>=]|("|')|))|$)`,"g"),ye=/'/g,we=/"/g,Ee=/^(?:script|style|textarea|title)$/i,re=n=>(e,...t)=>({_$litType$:n,strings:e,values:t}),h=re(1),at=re(2),rt=re(3),S=Symbol.for("lit-noChange"),u=Symbol.for("lit-nothing"),xe=new WeakMap,x=A.createTreeWalker(A,129);function Ce(n,e){if(!ae(n)||!n.hasOwnProperty("raw"))throw Error("invalid template strings array");return be!==void 0?be.createHTML(e):e}var Ve=(n,e)=>{let t=n.length-1,s=[],i,a=e===2?"<svg>":e===3?"<math>":"",r=L;for(let o=0;o<t;o++){let l=n[o],p,d,c=-1,g=0;for(;g<l.length&&(r.lastIndex=g,d=r.exec(l),d!==null);)g=r.lastIndex,r===L?d[1]==="!--"?r=ve:d[1]!==void 0?r=$e:d[2]!==void 0?(Ee.test(d[2])&&(i=RegExp("</"+d[2],"g")),r=w):d[3]!==void 0&&(r=w):r===w?d[0]===">"?(r=i??L,c=-1):d[1]===void 0?c=-2:(c=r.lastIndex-d[2].length,p=d[1],r=d[3]===void 0?w:d[3]==='"'?we:ye):r===we||r===ye?r=w:r===ve||r===$e?r=L:(r=w,i=void 0);let _=r===w&&n[o+1].startsWith("/>")?" ":"";a+=r===L?l+Fe:c>=0?(s.push(p),l.slice(0,c)+Ae+l.slice(c)+y+_):l+y+(c===-2?o:_)}return[Ce(n,a+(n[t]||"<?>")+(e===2?"</svg>":e===3?"</math>":"")),s]},R=class n{constructor({strings:e,_$litType$:t},s){let i;this.parts=[];let a=0,r=0,o=e.length-1,l=this.parts,[p,d]=Ve(e,t);if(this.el=n.createElement(p,s),x.currentNode=this.el.content,t===2||t===3){let c=this.el.content.firstChild;c.replaceWith(...c.childNodes)}for(;(i=x.nextNode())!==null&&l.length<o;){if(i.nodeType===1){if(i.hasAttributes())for(let c of i.getAttributeNames())if(c.endsWith(Ae)){let g=d[r++],_=i.getAttribute(c).split(y),b=/([.?@])?(.*)/.exec(g);l.push({type:1,index:a,name:b[2],strings:_,ctor:b[1]==="."?ee:b[1]==="?"?te:b[1]==="@"?se:C}),i.removeAttribute(c)}else c.startsWith(y)&&(l.push({type:6,index:a}),i.removeAttribute(c));if(Ee.test(i.tagName)){let c=i.textContent.split(y),g=c.length-1;if(g>0){i.textContent=j?j.emptyScript:"";for(let _=0;_<g;_++)i.append(c[_],P()),x.nextNode(),l.push({type:2,index:++a});i.append(c[g],P())}}}else if(i.nodeType===8)if(i.data===Se)l.push({type:2,index:a});else{let c=-1;for(;(c=i.data.indexOf(y,c+1))!==-1;)l.push({type:7,index:a}),c+=y.length-1}a++}}static createElement(e,t){let s=A.createElement("template");return s.innerHTML=e,s}};function E(n,e,t=n,s){if(e===S)return e;let i=s!==void 0?t._$Co?.[s]:t._$Cl,a=N(e)?void 0:e._$litDirective$;return i?.constructor!==a&&(i?._$AO?.(!1),a===void 0?i=void 0:(i=new a(n),i._$AT(n,t,s)),s!==void 0?(t._$Co??=[])[s]=i:t._$Cl=i),i!==void 0&&(e=E(n,i._$AS(n,e.values),i,s)),e}var Y=class{constructor(e,t){this._$AV=[],this._$AN=void 0,this._$AD=e,this._$AM=t}get parentNode(){return this._$AM.parentNode}get _$AU(){return this._$AM._$AU}u(e){let{el:{content:t},parts:s}=this._$AD,i=(e?.creationScope??A).importNode(t,!0);x.currentNode=i;let a=x.nextNode(),r=0,o=0,l=s[0];for(;l!==void 0;){if(r===l.index){let p;l.type===2?p=new H(a,a.nextSibling,this,e):l.type===1?p=new l.ctor(a,l.name,l.strings,this,e):l.type===6&&(p=new ie(a,this,e)),this._$AV.push(p),l=s[++o]}r!==l?.index&&(a=x.nextNode(),r++)}return x.currentNode=A,i}p(e){let t=0;for(let s of this._$AV)s!==void 0&&(s.strings!==void 0?(s._$AI(e,s,t),t+=s.strings.length-2):s._$AI(e[t])),t++}},H=class n{get _$AU(){return this._$AM?._$AU??this._$Cv}constructor(e,t,s,i){this.type=2,this._$AH=u,this._$AN=void 0,this._$AA=e,this._$AB=t,this._$AM=s,this.options=i,this._$Cv=i?.isConnected??!0}get parentNode(){let e=this._$AA.parentNode,t=this._$AM;return t!==void 0&&e?.nodeType===11&&(e=t.parentNode),e}get startNode(){return this._$AA}get endNode(){return this._$AB}_$AI(e,t=this){e=E(this,e,t),N(e)?e===u||e==null||e===""?(this._$AH!==u&&this._$AR(),this._$AH=u):e!==this._$AH&&e!==S&&this._(e):e._$litType$!==void 0?this.$(e):e.nodeType!==void 0?this.T(e):je(e)?this.k(e):this._(e)}O(e){return this._$AA.parentNode.insertBefore(e,this._$AB)}T(e){this._$AH!==e&&(this._$AR(),this._$AH=this.O(e))}_(e){this._$AH!==u&&N(this._$AH)?this._$AA.nextSibling.data=e:this.T(A.createTextNode(e)),this._$AH=e}$(e){let{values:t,_$litType$:s}=e,i=typeof s=="number"?this._$AC(e):(s.el===void 0&&(s.el=R.createElement(Ce(s.h,s.h[0]),this.options)),s);if(this._$AH?._$AD===i)this._$AH.p(t);else{let a=new Y(i,this),r=a.u(this.options);a.p(t),this.T(r),this._$AH=a}}_$AC(e){let t=xe.get(e.strings);return t===void 0&&xe.set(e.strings,t=new R(e)),t}k(e){ae(this._$AH)||(this._$AH=[],this._$AR());let t=this._$AH,s,i=0;for(let a of e)i===t.length?t.push(s=new n(this.O(P()),this.O(P()),this,this.options)):s=t[i],s._$AI(a),i++;i<t.length&&(this._$AR(s&&s._$AB.nextSibling,i),t.length=i)}_$AR(e=this._$AA.nextSibling,t){for(this._$AP?.(!1,!0,t);e!==this._$AB;){let s=fe(e).nextSibling;fe(e).remove(),e=s}}setConnected(e){this._$AM===void 0&&(this._$Cv=e,this._$AP?.(e))}},C=class{get tagName(){return this.element.tagName}get _$AU(){return this._$AM._$AU}constructor(e,t,s,i,a){this.type=1,this._$AH=u,this._$AN=void 0,this.element=e,this.name=t,this._$AM=i,this.options=a,s.length>2||s[0]!==""||s[1]!==""?(this._$AH=Array(s.length-1).fill(new String),this.strings=s):this._$AH=u}_$AI(e,t=this,s,i){let a=this.strings,r=!1;if(a===void 0)e=E(this,e,t,0),r=!N(e)||e!==this._$AH&&e!==S,r&&(this._$AH=e);else{let o=e,l,p;for(e=a[0],l=0;l<a.length-1;l++)p=E(this,o[s+l],t,l),p===S&&(p=this._$AH[l]),r||=!N(p)||p!==this._$AH[l],p===u?e=u:e!==u&&(e+=(p??"")+a[l+1]),this._$AH[l]=p}r&&!i&&this.j(e)}j(e){e===u?this.element.removeAttribute(this.name):this.element.setAttribute(this.name,e??"")}},ee=class extends C{constructor(){super(...arguments),this.type=3}j(e){this.element[this.name]=e===u?void 0:e}},te=class extends C{constructor(){super(...arguments),this.type=4}j(e){this.element.toggleAttribute(this.name,!!e&&e!==u)}},se=class extends C{constructor(e,t,s,i,a){super(e,t,s,i,a),this.type=5}_$AI(e,t=this){if((e=E(this,e,t,0)??u)===S)return;let s=this._$AH,i=e===u&&s!==u||e.capture!==s.capture||e.once!==s.once||e.passive!==s.passive,a=e!==u&&(s===u||i);i&&this.element.removeEventListener(this.name,this,s),a&&this.element.addEventListener(this.name,this,e),this._$AH=e}handleEvent(e){typeof this._$AH=="function"?this._$AH.call(this.options?.host??this.element,e):this._$AH.handleEvent(e)}},ie=class{constructor(e,t,s){this.element=e,this.type=6,this._$AN=void 0,this._$AM=t,this.options=s}get _$AU(){return this._$AM._$AU}_$AI(e){E(this,e)}};var qe=ne.litHtmlPolyfillSupport;qe?.(R,H),(ne.litHtmlVersions??=[]).push("3.3.3");var ze=(n,e,t)=>{let s=t?.renderBefore??e,i=s._$litPart$;if(i===void 0){let a=t?.renderBefore??null;s._$litPart$=i=new H(e.insertBefore(P(),a),a,void 0,t??{})}return i._$AI(n),i};var oe=globalThis,v=class extends ${constructor(){super(...arguments),this.renderOptions={host:this},this._$Do=void 0}createRenderRoot(){let e=super.createRenderRoot();return this.renderOptions.renderBefore??=e.firstChild,e}update(e){let t=this.render();this.hasUpdated||(this.renderOptions.isConnected=this.isConnected),super.update(e),this._$Do=ze(t,this.renderRoot,this.renderOptions)}connectedCallback(){super.connectedCallback(),this._$Do?.setConnected(!0)}disconnectedCallback(){super.disconnectedCallback(),this._$Do?.setConnected(!1)}render(){return S}};v._$litElement$=!0,v.finalized=!0,oe.litElementHydrateSupport?.({LitElement:v});var Ke=oe.litElementPolyfillSupport;Ke?.({LitElement:v});(oe.litElementVersions??=[]).push("4.2.2");var Me=[];function ke(n,e){window.customElements.get(n)||window.customElements.define(n,e)}function Ge(){return window.CustomElementRegistryPolyfill!==void 0||window.customElements.get("home-assistant")!==void 0}var Je;function V(n,e){if(Ge()){ke(n,e);return}Me.push([n,e]),Je??=Promise.race([window.customElements.whenDefined("home-assistant").then(()=>{}),new Promise(t=>setTimeout(t,1e4))]).then(()=>{for(let[t,s]of Me.splice(0))ke(t,s)})}var Le={dlm_running:"DLM service running",dlm_stopped:"DLM service stopped",dlm_none:"No zone: load management off",failsafe:"Fail-safe: {current} A per station",failsafe_why:"{meter} not read for {age}",failsafe_never:"{meter} not read yet",last_reading:"Last DLM reading {age} ago",no_reading:"No DLM reading yet",supply:"DLM supply",shared_supply:"Shared DLM supply",supply_detail:"{rating} A rating \xB7 other loads {other} A",rating:"Rating",other_load:"Other loads",budget:"Budget",allocated:"Allocated",measured:"Measured",room:"Room",binding:"Binding phase",bound_rating:"Budget set by the zone's rating",bound_supply:"Budget set by {name}",bound_parent:"Budget set by the zone {name}",limited_by:"Shared out by {name}",stations:"Stations",no_stations:"No station in this zone",not_managed:"Not load-managed",offline:"Offline",allocated_drawn:"allocated / drawn",no_badge:"No badge",session_energy:"Session",active:"{count} charging",paused:"{count} paused",loading:"Loading\u2026",no_hub:"No Charge Zones hub is loaded.",hub_gone:"This Charge Zones hub is not loaded.",seconds:"{n} s",minutes:"{n} min",hours:"{n} h",editor_hub:"Hub",editor_zone:"Zone",editor_all_zones:"All zones",editor_title:"Title (optional)",card_name:"Charge Zones",card_description:"A building's zones at a glance: budget per phase, stations and why they get what they get.",reason:{fair_share:"Fair share",capped_by_car:"Limited by the car",station_max:"Station maximum",paused:"Paused for rotation",failsafe:"Fail-safe",idle:"Idle",ignoring_limit:"Ignores its limit",offline:"Offline",solar:"Solar surplus",waiting_for_sun:"Waiting for solar surplus",mode_off:"Charging mode off",waiting_for_schedule:"Waiting for its charging window"}},Qe={dlm_running:"Service DLM en marche",dlm_stopped:"Service DLM arr\xEAt\xE9",dlm_none:"Aucune zone : pas de gestion de charge",failsafe:"Mode repli : {current} A par borne",failsafe_why:"{meter} non lu depuis {age}",failsafe_never:"{meter} pas encore lu",last_reading:"Derni\xE8re lecture DLM il y a {age}",no_reading:"Aucune lecture DLM",supply:"Alimentation DLM",shared_supply:"Alimentation DLM partag\xE9e",supply_detail:"{rating} A nominal \xB7 autres charges {other} A",rating:"Calibre",other_load:"Autres charges",budget:"Budget",allocated:"Attribu\xE9",measured:"Mesur\xE9",room:"Marge",binding:"Phase limitante",bound_rating:"Budget fix\xE9 par le calibre de la zone",bound_supply:"Budget fix\xE9 par {name}",bound_parent:"Budget fix\xE9 par la zone {name}",limited_by:"R\xE9parti par {name}",stations:"Bornes",no_stations:"Aucune borne dans cette zone",not_managed:"Sans gestion de charge",offline:"Hors ligne",allocated_drawn:"attribu\xE9 / consomm\xE9",no_badge:"Aucun badge",session_energy:"Session",active:"{count} en charge",paused:"{count} en pause",loading:"Chargement\u2026",no_hub:"Aucun hub Charge Zones n'est charg\xE9.",hub_gone:"Ce hub Charge Zones n'est pas charg\xE9.",seconds:"{n} s",minutes:"{n} min",hours:"{n} h",editor_hub:"Hub",editor_zone:"Zone",editor_all_zones:"Toutes les zones",editor_title:"Titre (facultatif)",card_name:"Charge Zones",card_description:"Les zones d'un b\xE2timent d'un coup d'\u0153il : budget par phase, bornes et pourquoi elles re\xE7oivent ce qu'elles re\xE7oivent.",reason:{fair_share:"Part \xE9quitable",capped_by_car:"Limit\xE9 par la voiture",station_max:"Maximum de la borne",paused:"En pause (rotation)",failsafe:"Mode repli",idle:"Au repos",ignoring_limit:"Ignore sa limite",offline:"Hors ligne",solar:"Surplus solaire",waiting_for_sun:"En attente de surplus solaire",mode_off:"Mode de charge \xE0 l'arr\xEAt",waiting_for_schedule:"En attente de sa plage de charge"}},Xe={dlm_running:"DLM-Dienst l\xE4uft",dlm_stopped:"DLM-Dienst gestoppt",dlm_none:"Keine Zone: kein Lastmanagement",failsafe:"R\xFCckfallmodus: {current} A pro Ladestation",failsafe_why:"{meter} seit {age} nicht gelesen",failsafe_never:"{meter} noch nicht gelesen",last_reading:"Letzte DLM-Messung vor {age}",no_reading:"Noch keine DLM-Messung",supply:"DLM-Einspeisung",shared_supply:"Geteilte DLM-Einspeisung",supply_detail:"{rating} A Nennstrom \xB7 andere Verbraucher {other} A",rating:"Nennstrom",other_load:"Andere Verbraucher",budget:"Budget",allocated:"Zugeteilt",measured:"Gemessen",room:"Reserve",binding:"Begrenzende Phase",bound_rating:"Budget durch den Nennstrom der Zone begrenzt",bound_supply:"Budget durch {name} begrenzt",bound_parent:"Budget durch die Zone {name} begrenzt",limited_by:"Aufgeteilt durch {name}",stations:"Ladestationen",no_stations:"Keine Ladestation in dieser Zone",not_managed:"Ohne Lastmanagement",offline:"Offline",allocated_drawn:"zugeteilt / bezogen",no_badge:"Kein Badge",session_energy:"Ladevorgang",active:"Aktiv: {count}",paused:"Pausiert: {count}",loading:"Wird geladen\u2026",no_hub:"Kein Charge-Zones-Hub ist geladen.",hub_gone:"Dieser Charge-Zones-Hub ist nicht geladen.",seconds:"{n} s",minutes:"{n} min",hours:"{n} h",editor_hub:"Hub",editor_zone:"Zone",editor_all_zones:"Alle Zonen",editor_title:"Titel (optional)",card_name:"Charge Zones",card_description:"Die Zonen deines Geb\xE4udes auf einen Blick: Budget pro Phase, Ladestationen und warum sie bekommen, was sie bekommen.",reason:{fair_share:"Fairer Anteil",capped_by_car:"Vom Fahrzeug begrenzt",station_max:"Maximum der Ladestation",paused:"Pausiert (Rotation)",failsafe:"R\xFCckfallmodus",idle:"Bereit",ignoring_limit:"Ignoriert ihr Limit",offline:"Offline",solar:"Solar\xFCberschuss",waiting_for_sun:"Wartet auf Solar\xFCberschuss",mode_off:"Lademodus aus",waiting_for_schedule:"Wartet auf sein Ladefenster"}},Ye={dlm_running:"Servizio DLM attivo",dlm_stopped:"Servizio DLM fermo",dlm_none:"Nessuna zona: gestione del carico spenta",failsafe:"Modalit\xE0 di ripiego: {current} A per stazione",failsafe_why:"{meter} non letto da {age}",failsafe_never:"{meter} non ancora letto",last_reading:"Ultima lettura DLM {age} fa",no_reading:"Nessuna lettura DLM",supply:"Alimentazione DLM",shared_supply:"Alimentazione DLM condivisa",supply_detail:"{rating} A nominali \xB7 altri carichi {other} A",rating:"Corrente nominale",other_load:"Altri carichi",budget:"Budget",allocated:"Assegnata",measured:"Misurata",room:"Margine",binding:"Fase limitante",bound_rating:"Budget fissato dalla corrente nominale della zona",bound_supply:"Budget fissato da {name}",bound_parent:"Budget fissato dalla zona {name}",limited_by:"Ripartita da {name}",stations:"Stazioni",no_stations:"Nessuna stazione in questa zona",not_managed:"Senza gestione del carico",offline:"Offline",allocated_drawn:"assegnata / assorbita",no_badge:"Nessun badge",session_energy:"Sessione",active:"{count} in carica",paused:"{count} in pausa",loading:"Caricamento\u2026",no_hub:"Nessun hub Charge Zones \xE8 caricato.",hub_gone:"Questo hub Charge Zones non \xE8 caricato.",seconds:"{n} s",minutes:"{n} min",hours:"{n} h",editor_hub:"Hub",editor_zone:"Zona",editor_all_zones:"Tutte le zone",editor_title:"Titolo (facoltativo)",card_name:"Charge Zones",card_description:"Le zone di un edificio a colpo d'occhio: budget per fase, stazioni e perch\xE9 ricevono ci\xF2 che ricevono.",reason:{fair_share:"Quota equa",capped_by_car:"Limitata dall'auto",station_max:"Massimo della stazione",paused:"In pausa (rotazione)",failsafe:"Modalit\xE0 di ripiego",idle:"A riposo",ignoring_limit:"Ignora il suo limite",offline:"Offline",solar:"Eccedenza solare",waiting_for_sun:"In attesa di eccedenza solare",mode_off:"Modalit\xE0 di ricarica spenta",waiting_for_schedule:"In attesa della sua fascia di ricarica"}},et={en:Le,fr:Qe,de:Xe,it:Ye};function O(n){let e=(n??"en").toLowerCase().split(/[-_]/)[0];return et[e]??Le}function f(n,e){return n.replace(/\{(\w+)\}/g,(t,s)=>String(e[s]??""))}var T="__all__",D=class extends v{constructor(){super(...arguments);this._loading=!1;this._label=t=>{let s=this._t;return{entry_id:s.editor_hub,zone:s.editor_zone,title:s.editor_title}[t.name]}}setConfig(t){this._config={...t}}get _t(){return O(this.hass?.locale?.language??this.hass?.language)}updated(){this.hass&&this._hubs===void 0&&!this._loading&&(this._loading=!0,this.hass.callWS({type:"charge_zones/hubs"}).then(t=>{this._hubs=t,this._config&&!this._config.entry_id&&t.length&&this._changed({...this._config,entry_id:t[0].entry_id})}).catch(()=>{this._hubs=[]}))}_changed(t){let s={type:t.type};t.entry_id&&(s.entry_id=t.entry_id),t.zone&&t.zone!==T&&(s.zone=t.zone),t.title&&(s.title=t.title),this._config=s,this.dispatchEvent(new CustomEvent("config-changed",{detail:{config:s},bubbles:!0,composed:!0}))}_schema(){let t=this._t,s=this._hubs??[],i=s.find(a=>a.entry_id===this._config?.entry_id)??s[0];return[{name:"entry_id",required:!0,selector:{select:{mode:"dropdown",options:s.map(a=>({value:a.entry_id,label:a.title}))}}},{name:"zone",selector:{select:{mode:"dropdown",options:[{value:T,label:t.editor_all_zones},...(i?.zones??[]).map(a=>({value:a.key,label:a.name}))]}}},{name:"title",selector:{text:{}}}]}render(){if(!this.hass||!this._config)return u;if(this._hubs===void 0)return h`<div class="muted">${this._t.loading}</div>`;if(!this._hubs.length)return h`<div class="muted">${this._t.no_hub}</div>`;let t={title:"",...this._config,zone:this._config.zone||T};if(customElements.get("ha-form"))return h`<ha-form
        .hass=${this.hass}
        .data=${t}
        .schema=${this._schema()}
        .computeLabel=${this._label}
        @value-changed=${i=>{let a=i.detail.value,r=this._hubs?.find(o=>o.entry_id===a.entry_id)?.zones??[];a.zone&&!r.some(o=>o.key===a.zone)&&(a.zone=T),this._changed({...this._config,...a})}}
      ></ha-form>`;let s=this._hubs.find(i=>i.entry_id===t.entry_id)??this._hubs[0];return h`<label
        >${this._t.editor_hub}
        <select
          @change=${i=>this._changed({...this._config,entry_id:i.target.value,zone:""})}
        >
          ${this._hubs.map(i=>h`<option value=${i.entry_id} ?selected=${i.entry_id===s.entry_id}>${i.title}</option>`)}
        </select></label
      >
      <label
        >${this._t.editor_zone}
        <select
          @change=${i=>this._changed({...this._config,zone:i.target.value})}
        >
          <option value=${T}>${this._t.editor_all_zones}</option>
          ${s.zones.map(i=>h`<option value=${i.key} ?selected=${i.key===t.zone}>${i.name}</option>`)}
        </select></label
      >`}};D.properties={hass:{attribute:!1},_config:{state:!0},_hubs:{state:!0}},D.styles=M`
    label {
      display: block;
      margin: 8px 0;
    }
    select {
      display: block;
      width: 100%;
      margin-top: 4px;
    }
    .muted {
      color: var(--secondary-text-color);
    }
  `;V("charge-zones-card-editor",D);var q=["L1","L2","L3"],K=new Set(["unknown","unavailable",""]);function Pe(n){if(n==null||K.has(n))return null;let e=Number(n);return Number.isFinite(e)?e:null}var U=class extends v{static getConfigElement(){return document.createElement("charge-zones-card-editor")}static async getStubConfig(e){try{let t=await e.callWS({type:"charge_zones/hubs"});return t.length?{type:"custom:charge-zones-card",entry_id:t[0].entry_id}:{type:"custom:charge-zones-card"}}catch{return{type:"custom:charge-zones-card"}}}setConfig(e){if(!e)throw new Error("Invalid configuration");this._config={...e}}getCardSize(){let e=this._overview;return e?2+e.zones.length*3+e.stations.length:3}getGridOptions(){return{columns:12,min_columns:6,min_rows:4}}get _t(){return O(this.hass?.locale?.language??this.hass?.language)}connectedCallback(){super.connectedCallback(),this._subscribe()}disconnectedCallback(){super.disconnectedCallback(),this._unsubscribeNow()}updated(e){(e.has("hass")||e.has("_config"))&&this._subscribe()}_unsubscribeNow(){let e=this._unsubscribe;this._unsubscribe=void 0,this._subscribedFor=void 0,e&&e.then(t=>t()).catch(()=>{})}async _subscribe(){if(!this.hass||!this._config||!this.isConnected)return;let e=this._config.entry_id;if(!e)try{let i=await this.hass.callWS({type:"charge_zones/hubs"});if(!i.length){this._error="no_hub";return}e=i[0].entry_id}catch{this._error="no_hub";return}let t=`${e}|${this._config.zone??""}`;if(this._subscribedFor===t)return;this._unsubscribeNow(),this._subscribedFor=t,this._overview=void 0,this._error=void 0;let s={type:"charge_zones/overview/subscribe",entry_id:e};this._config.zone&&(s.zone=this._config.zone),this._unsubscribe=this.hass.connection.subscribeMessage(i=>{this._overview=i,this._error=void 0},s),this._unsubscribe.catch(()=>{this._subscribedFor===t&&(this._error="hub_gone",this._subscribedFor=void 0,this._unsubscribe=void 0)})}_state(e){return e?this.hass?.states[e]:void 0}_num(e,t){let s=this._state(e);return s===void 0?t:Pe(s.state)}_fmt(e,t=1){if(e===null)return"\u2013";let s=this.hass?.locale?.language??this.hass?.language??"en";return new Intl.NumberFormat(s,{minimumFractionDigits:t,maximumFractionDigits:t}).format(e)}_age(e){let t=this._t;return e===null?"\u2013":e<120?f(t.seconds,{n:Math.round(e)}):e<7200?f(t.minutes,{n:Math.round(e/60)}):f(t.hours,{n:Math.round(e/3600)})}render(){let e=this._t,t=this._overview;if(this._error)return h`<ha-card><div class="message">${e[this._error]}</div></ha-card>`;if(!t)return h`<ha-card><div class="message">${e.loading}</div></ha-card>`;let s=t.zone?t.zones.find(o=>o.key===t.zone)?.name:void 0,i=this._config?.title||s||t.title,a=new Set(t.zones.flatMap(o=>o.stations)),r=t.stations.filter(o=>!a.has(o.key));return h`
      <ha-card>
        <div class="header">
          <div class="title">${i}</div>
          ${this._renderDlm(t)}
        </div>
        ${t.supplies.filter(o=>o.shared).map(o=>this._renderSupply(o))}
        ${t.zones.map(o=>this._renderZone(t,o))}
        ${r.length?h`<div class="zone others">
              <div class="zone-head"><span class="zone-name">${e.not_managed}</span></div>
              <div class="stations">${r.map(o=>this._renderStation(o))}</div>
            </div>`:u}
      </ha-card>
    `}_renderDlm(e){let t=this._t,s=this._state(e.dlm.entity),i=s?s.state==="on":e.dlm.running;return e.dlm.active?h`<div class="dlm" data-dlm=${i?"on":"off"}>
      <span class="dot ${i?"on":"off"}"></span>${i?t.dlm_running:t.dlm_stopped}
    </div>`:h`<div class="dlm" data-dlm="none"><span class="dot off"></span>${t.dlm_none}</div>`}_supplyOf(e,t){return e.supplies.find(s=>t.meters.includes(s.key))}_renderSupply(e){let t=this._t,s=e.other_load??[null,null,null],i=Math.max(...s.map(a=>a??0));return h`<div class="supply" data-supply=${e.key}>
      <div class="zone-head">
        <ha-icon icon="mdi:transmission-tower"></ha-icon>
        <span class="zone-name">${e.name}</span>
        <span class="muted">${e.shared?t.shared_supply:t.supply}</span>
      </div>
      <div class="muted small">
        ${f(t.supply_detail,{rating:this._fmt(e.rating,0),other:this._fmt(e.other_load?i:null)})}
        · ${e.reading_age===null?t.no_reading:f(t.last_reading,{age:this._age(e.reading_age)})}
      </div>
    </div>`}_renderZone(e,t){let s=this._t,i=this._supplyOf(e,t),a=this._state(t.entities.failsafe),r=a?a.state==="on":t.failsafe!==null,o=t.stations.map(d=>e.stations.find(c=>c.key===d)).filter(d=>d!==void 0),l=t.binding_phase!==null?t.budget_bounds[t.binding_phase]:null,p="";return!r&&l&&(p=l.kind==="rating"?s.bound_rating:f(l.kind==="supply"?s.bound_supply:s.bound_parent,{name:l.name})),h`<div
      class="zone ${r?"in-failsafe":""}"
      style="--depth: ${t.depth}"
      data-zone=${t.key}
    >
      <div class="zone-head">
        <ha-icon icon=${t.depth?"mdi:subdirectory-arrow-right":"mdi:home-lightning-bolt"}></ha-icon>
        <span class="zone-name">${t.name}</span>
        <span class="muted" data-kind="rating">${this._fmt(t.rating,0)} A</span>
        <span class="spacer"></span>
        <span class="chip">${f(s.active,{count:t.active})}</span>
        ${t.paused?h`<span class="chip warn">${f(s.paused,{count:t.paused})}</span>`:u}
      </div>
      ${r?h`<div class="failsafe" data-failsafe="on">
            <ha-icon icon="mdi:shield-alert"></ha-icon>
            <div>
              <div>${f(s.failsafe,{current:this._fmt(t.failsafe_current,0)})}</div>
              <div class="small">
                ${t.failsafe?t.failsafe.age===null?f(s.failsafe_never,{meter:t.failsafe.meter}):f(s.failsafe_why,{meter:t.failsafe.meter,age:this._age(t.failsafe.age)}):u}
              </div>
            </div>
          </div>`:h`<div class="muted small reading" data-failsafe="off">
            ${i?h`${i.name}:
                ${i.reading_age===null?s.no_reading:f(s.last_reading,{age:this._age(i.reading_age)})}`:u}
          </div>`}
      <div class="phases">${t.phases.map(d=>this._renderPhase(t,i,d,r))}</div>
      <div class="legend small">
        <span><i class="sw alloc"></i>${s.allocated}</span>
        <span><i class="sw meas"></i>${s.measured}</span>
        <span><i class="sw budget"></i>${s.budget}</span>
        ${i?h`<span><i class="sw other"></i>${s.other_load}</span>`:u}
        <span><i class="sw rating"></i>${s.rating}</span>
      </div>
      ${p||t.limited_by.length?h`<div class="muted small bound">
            ${p}${p&&t.limited_by.length?" \xB7 ":""}${t.limited_by.map(d=>f(s.limited_by,{name:d})).join(" \xB7 ")}
          </div>`:u}
      <div class="stations">
        ${o.length?o.map(d=>this._renderStation(d)):h`<div class="muted small">${s.no_stations}</div>`}
      </div>
    </div>`}_renderPhase(e,t,s,i){let a=this._t,r=i?null:this._num(e.entities.budget[s],e.budget?e.budget[s]:null),o=this._num(e.entities.allocated[s],e.allocated?e.allocated[s]:null),l=e.measured[s],p=t?.other_load?t.other_load[s]:null,d=t?.rating??null,c=Math.max(e.rating,d??0,r??0,o??0,l??0,1),g=b=>`${Math.max(0,Math.min(100,b/c*100))}%`,_=!i&&e.binding_phase===s;return h`<div class="phase ${_?"binding":""}" data-phase=${q[s]}>
      <div class="phase-name" title=${_?a.binding:""}>${q[s]}</div>
      <div class="bar" role="img" aria-label="${q[s]}: ${a.allocated} ${this._fmt(o)} A, ${a.budget} ${this._fmt(r)} A">
        ${p!==null&&d!==null?h`<div
              class="seg other"
              style="left: ${g(Math.max(0,d-p))}; width: ${g(Math.min(p,d))}"
            ></div>`:u}
        ${o!==null?h`<div class="seg alloc" style="width: ${g(o)}"></div>`:u}
        ${l!==null?h`<div class="seg meas" style="width: ${g(l)}"></div>`:u}
        ${r!==null?h`<div class="mark budget" style="left: ${g(r)}"></div>`:u}
        <div class="mark rating" style="left: ${g(e.rating)}"></div>
      </div>
      <div class="phase-figures">
        <span class="strong" data-entity=${e.entities.allocated[s]??""} data-kind="allocated"
          >${this._fmt(o)}</span
        >
        / <span data-entity=${e.entities.budget[s]??""} data-kind="budget">${this._fmt(r)}</span> A
        <div class="muted small">${a.measured} ${this._fmt(l)} A</div>
      </div>
    </div>`}_renderStation(e){let t=this._t,s=this._state(e.entities.connected),i=s?s.state==="on":e.connected,a=e.connectors[0],r=this._state(a?.entity),o;i?r&&!K.has(r.state)?o=this.hass?.formatEntityState?this.hass.formatEntityState(r):r.state:o=a?.status??"\u2013":o=t.offline;let l=r?.state??a?.status??"",p=this._state(e.entities.allocated),d=this._num(e.entities.allocated,e.allocated),c=p?.attributes.reason??e.reason??null,g=[...e.phases].sort().map(m=>({phase:m,entity:e.entities.current[m],value:this._num(e.entities.current[m],e.drawn[m])})),_=g.reduce((m,ce)=>ce.value===null?m:Math.max(m??0,ce.value),null),b=this._state(e.entities.badge),Re=b?K.has(b.state)?null:b.state:e.badge,B=this._state(e.entities.session_energy),Z;if(B&&!K.has(B.state)){let m=B.attributes.unit_of_measurement??"";Z=`${this._fmt(Pe(B.state),m==="Wh"?0:2)} ${m}`}else e.session_energy_wh!==null?Z=`${this._fmt(e.session_energy_wh/1e3,2)} kWh`:Z="\u2013";let le=c?t.reason[c]??c:null,He=e.max_current,de=m=>`${m===null?0:Math.max(0,Math.min(100,m/He*100))}%`;return h`<div
      class="station ${i?"":"offline"} status-${l}"
      data-station=${e.station_id}
    >
      <div class="station-line">
        <ha-icon icon=${i?"mdi:ev-station":"mdi:lan-disconnect"}></ha-icon>
        <span class="station-name">${e.station_id}</span>
        <span class="status" data-entity=${a?.entity??""} data-kind="status">${o}</span>
        <span class="spacer"></span>
        ${e.zone?h`<span class="currents" title=${t.allocated_drawn}>
              <span class="strong" data-entity=${e.entities.allocated??""} data-kind="allocated"
                >${this._fmt(d)}</span
              >
              /
              <span data-kind="drawn">${this._fmt(_)}</span> A
            </span>`:h`<span class="currents"><span data-kind="drawn">${this._fmt(_)}</span> A</span>`}
      </div>
      ${e.zone?h`<div class="minibar">
            <div class="seg alloc" style="width: ${de(d)}"></div>
            <div class="seg meas" style="width: ${de(_)}"></div>
          </div>`:u}
      <div class="station-detail small">
        ${le?h`<span class="reason reason-${c}" data-reason=${c??""}>${le}</span>`:u}
        <span class="badge" data-entity=${e.entities.badge??""} data-kind="badge">
          <ha-icon icon="mdi:badge-account-horizontal-outline"></ha-icon>${Re??t.no_badge}
        </span>
        <span class="energy" data-entity=${e.entities.session_energy??""} data-kind="energy">
          <ha-icon icon="mdi:lightning-bolt"></ha-icon>${t.session_energy} ${Z}
        </span>
        <span class="muted phases-drawn">
          ${g.map(m=>h`<span class="drawn" data-entity=${m.entity??""} data-kind="current"
                >${q[m.phase]} ${this._fmt(m.value)}</span
              >`)}
        </span>
      </div>
    </div>`}};U.properties={hass:{attribute:!1},_config:{state:!0},_overview:{state:!0},_error:{state:!0}},U.styles=M`
    :host {
      --cz-alloc: var(--primary-color, #03a9f4);
      --cz-meas: var(--success-color, #43a047);
      --cz-other: var(--warning-color, #ffa600);
      --cz-budget: var(--primary-text-color, #212121);
      --cz-rating: var(--error-color, #db4437);
      --cz-track: var(--secondary-background-color, #e5e5e5);
    }
    ha-card {
      padding: 12px 16px 16px;
      color: var(--primary-text-color);
      container-type: inline-size;
    }
    .message {
      padding: 8px 0;
      color: var(--secondary-text-color);
    }
    .header {
      display: flex;
      flex-wrap: wrap;
      align-items: center;
      gap: 4px 12px;
      margin-bottom: 8px;
    }
    .title {
      font-size: var(--ha-card-header-font-size, 20px);
      font-weight: 500;
      flex: 1 1 auto;
    }
    .dlm {
      display: flex;
      align-items: center;
      gap: 6px;
      font-size: 0.9em;
      color: var(--secondary-text-color);
    }
    .dot {
      width: 10px;
      height: 10px;
      border-radius: 50%;
      display: inline-block;
    }
    .dot.on {
      background: var(--success-color, #43a047);
      box-shadow: 0 0 6px var(--success-color, #43a047);
    }
    .dot.off {
      background: var(--error-color, #db4437);
    }
    .small {
      font-size: 0.85em;
    }
    .muted {
      color: var(--secondary-text-color);
    }
    .strong {
      font-weight: 600;
    }
    .spacer {
      flex: 1 1 auto;
    }
    ha-icon {
      --mdc-icon-size: 18px;
      color: var(--secondary-text-color);
    }
    .supply,
    .zone {
      border-top: 1px solid var(--divider-color, rgba(0, 0, 0, 0.12));
      padding: 10px 0 4px;
      margin-left: calc(var(--depth, 0) * 16px);
    }
    .zone-head {
      display: flex;
      align-items: center;
      gap: 6px;
      flex-wrap: wrap;
    }
    .zone-name {
      font-weight: 500;
      font-size: 1.05em;
    }
    .chip {
      font-size: 0.8em;
      padding: 1px 8px;
      border-radius: 10px;
      background: var(--cz-track);
      color: var(--primary-text-color);
    }
    .chip.warn {
      background: var(--warning-color, #ffa600);
      color: var(--text-primary-color, #fff);
    }
    .failsafe {
      display: flex;
      gap: 8px;
      align-items: center;
      margin: 6px 0;
      padding: 6px 10px;
      border-radius: 8px;
      background: rgba(var(--rgb-error-color, 219, 68, 55), 0.12);
      color: var(--error-color, #db4437);
    }
    .failsafe ha-icon {
      color: var(--error-color, #db4437);
    }
    .reading {
      margin: 2px 0 4px;
    }
    .phases {
      display: grid;
      gap: 6px;
      margin: 6px 0 4px;
    }
    .phase {
      display: grid;
      grid-template-columns: 28px 1fr 118px;
      align-items: center;
      gap: 8px;
      border-radius: 6px;
      padding: 2px 4px;
    }
    .phase.binding {
      background: rgba(var(--rgb-primary-color, 3, 169, 244), 0.1);
      outline: 1px solid var(--cz-alloc);
    }
    .phase.binding .phase-name {
      color: var(--cz-alloc);
      font-weight: 700;
    }
    .phase-name {
      font-weight: 500;
    }
    .bar,
    .minibar {
      position: relative;
      height: 18px;
      border-radius: 4px;
      background: var(--cz-track);
      overflow: hidden;
    }
    .minibar {
      height: 6px;
      margin: 4px 0 2px 24px;
    }
    .seg {
      position: absolute;
      top: 0;
      bottom: 0;
      left: 0;
    }
    .seg.alloc {
      background: var(--cz-alloc);
      opacity: 0.45;
    }
    .seg.meas {
      top: 30%;
      bottom: 30%;
      background: var(--cz-meas);
    }
    .seg.other {
      background: repeating-linear-gradient(
        -45deg,
        var(--cz-other),
        var(--cz-other) 4px,
        transparent 4px,
        transparent 8px
      );
      opacity: 0.8;
    }
    .mark {
      position: absolute;
      top: 0;
      bottom: 0;
      width: 3px;
      margin-left: -1.5px;
    }
    .mark.budget {
      background: var(--cz-budget);
    }
    .mark.rating {
      background: var(--cz-rating);
      width: 2px;
      opacity: 0.7;
    }
    .phase-figures {
      text-align: right;
      white-space: nowrap;
    }
    .legend {
      display: flex;
      flex-wrap: wrap;
      gap: 2px 12px;
      color: var(--secondary-text-color);
      margin: 2px 0 2px 40px;
    }
    .sw {
      display: inline-block;
      width: 10px;
      height: 10px;
      margin-right: 4px;
      vertical-align: -1px;
      border-radius: 2px;
    }
    .sw.alloc {
      background: var(--cz-alloc);
      opacity: 0.45;
    }
    .sw.meas {
      background: var(--cz-meas);
    }
    .sw.budget {
      background: var(--cz-budget);
      width: 3px;
    }
    .sw.rating {
      background: var(--cz-rating);
      width: 2px;
    }
    .sw.other {
      background: var(--cz-other);
    }
    .bound {
      margin: 2px 0 4px 40px;
    }
    .stations {
      display: grid;
      gap: 6px;
      margin-top: 8px;
      grid-template-columns: repeat(auto-fill, minmax(300px, 1fr));
    }
    .station {
      padding: 6px 8px;
      border-radius: 8px;
      background: var(--cz-track);
    }
    .station.offline {
      opacity: 0.6;
    }
    .station-line {
      display: flex;
      align-items: center;
      gap: 6px;
      flex-wrap: wrap;
    }
    .station-name {
      font-weight: 500;
    }
    .status {
      color: var(--secondary-text-color);
    }
    .status-charging .status {
      color: var(--success-color, #43a047);
    }
    .currents {
      white-space: nowrap;
    }
    .station-detail {
      display: flex;
      flex-wrap: wrap;
      gap: 2px 12px;
      margin-left: 24px;
      align-items: center;
    }
    .station-detail ha-icon {
      --mdc-icon-size: 14px;
      margin-right: 2px;
    }
    .reason {
      padding: 0 6px;
      border-radius: 8px;
      background: var(--card-background-color, #fff);
    }
    .reason-paused,
    .reason-ignoring_limit {
      color: var(--warning-color, #ffa600);
    }
    .reason-failsafe {
      color: var(--error-color, #db4437);
    }
    .phases-drawn {
      display: inline-flex;
      gap: 8px;
    }
    /* A narrow card (a phone, a narrow column): figures under the bar. */
    @container (max-width: 440px) {
      .phase {
        grid-template-columns: 24px 1fr;
      }
      .phase-figures {
        grid-column: 2;
        text-align: left;
        display: flex;
        gap: 8px;
        align-items: baseline;
      }
      .legend,
      .bound {
        margin-left: 0;
      }
      .supply,
      .zone {
        margin-left: calc(var(--depth, 0) * 8px);
      }
      .station-detail {
        margin-left: 0;
      }
      .minibar {
        margin-left: 0;
      }
    }
  `;V("charge-zones-card",U);function Ne(){let n=document.querySelector("home-assistant");return O(n?.hass?.locale?.language??n?.hass?.language??navigator.language)}window.customCards=window.customCards??[];window.customCards.some(n=>n.type==="charge-zones-card")||window.customCards.push({type:"charge-zones-card",get name(){return Ne().card_name},get description(){return Ne().card_description},preview:!0,documentationURL:"https://github.com/charge-zones/charge_zones#the-charge-zones-card"});console.info("%c CHARGE-ZONES-CARD %c 0.1.0 ","color: white; background: #03a9f4","");export{U as ChargeZonesCard};
